package llm

import (
	"bytes"
	"encoding/json"
	"errors"
)

var errTrailingData = errors.New("data after the JSON value")

// chunkDecoder decodes the JSON of one event at a time, as json.Unmarshal
// would, through one reused json.Decoder. Unmarshal allocates its scanner
// and decode state on every call, about seven allocations per chunk before
// any field is set; a Decoder keeps them between values, which is most of
// the difference BenchmarkStreamTokens measures. FuzzStreamReader checks
// that both accept and reject the same inputs.
type chunkDecoder struct {
	src  bytes.Reader
	dec  *json.Decoder
	read int64 // bytes the decoder has taken from src, over all events
}

func (cd *chunkDecoder) decode(data []byte, v any) error {
	// Trimmed, a valid event is exactly one value: the decoder must then
	// consume every byte it read, and read every byte there is.
	data = bytes.Trim(data, " \t\r\n")
	cd.src.Reset(data)
	if cd.dec == nil {
		cd.dec, cd.read = json.NewDecoder(&cd.src), 0
	}
	err := cd.dec.Decode(v)
	cd.read += int64(len(data) - cd.src.Len())
	if err == nil && (cd.src.Len() != 0 || cd.dec.InputOffset() != cd.read) {
		err = errTrailingData
	}
	if err != nil {
		// A Decoder may hold a half-read value or keep its error: start over.
		cd.dec = nil
	}
	return err
}
