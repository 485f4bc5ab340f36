package httpapi

import (
	"encoding/json"
	"net/http"
)

// jsonContentType is what gin's JSON renderer sends, for bodies encoded ahead.
const jsonContentType = "application/json; charset=utf-8"

// problemRender writes a problem with its own content type (gin's JSON
// renderer would force application/json).
type problemRender struct{ p problem }

func (r problemRender) Render(w http.ResponseWriter) error {
	return json.NewEncoder(w).Encode(r.p)
}

func (r problemRender) WriteContentType(w http.ResponseWriter) {
	w.Header().Set("Content-Type", problemContentType)
}

func jsonFrame(f any) ([]byte, error) { return json.Marshal(f) }
