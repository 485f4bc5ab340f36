package httpapi

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

const (
	defaultPageSize = 20
	maxPageSize     = 100
)

// pathID reads a UUID path parameter in its canonical form only.
func pathID(c *gin.Context, name string) (string, error) {
	id, ok := domain.ParseID(c.Param(name))
	if !ok {
		return "", &httpError{status: http.StatusBadRequest, code: "malformed-id",
			detail: name + " must be a lower-case UUID such as 0190d3f6-54a1-7c2e-9b1f-3a4c5d6e7f80",
			fields: []domain.FieldError{{Field: name, Message: "must be a canonical lower-case UUID"}}}
	}
	return id, nil
}

// pageParams reads ?page and ?page_size: non-numbers are 400, numbers out of
// range 422.
func pageParams(c *gin.Context) (ports.Page, error) {
	page, err := intQuery(c, "page", 1)
	if err != nil {
		return ports.Page{}, err
	}
	size, err := intQuery(c, "page_size", defaultPageSize)
	if err != nil {
		return ports.Page{}, err
	}
	var fields []domain.FieldError
	if page < 1 {
		fields = append(fields, domain.FieldError{Field: "page", Message: "must be at least 1"})
	}
	if size < 1 || size > maxPageSize {
		fields = append(fields, domain.FieldError{Field: "page_size", Message: "must be between 1 and 100"})
	}
	if len(fields) > 0 {
		return ports.Page{}, domain.Invalid("bad-pagination", "page must be at least 1 and page_size between 1 and 100", fields...)
	}
	return ports.Page{Number: page, Size: size}, nil
}

func intQuery(c *gin.Context, name string, def int) (int, error) {
	raw, present := c.GetQuery(name)
	if !present {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || len(raw) > 9 {
		return 0, badQuery(name, "must be a whole number")
	}
	return n, nil
}

func boolQuery(c *gin.Context, name string) (*bool, error) {
	raw, present := c.GetQuery(name)
	if !present {
		return nil, nil
	}
	switch raw {
	case "true":
		v := true
		return &v, nil
	case "false":
		v := false
		return &v, nil
	}
	return nil, badQuery(name, "must be true or false")
}

func badQuery(name, message string) error {
	return &httpError{status: http.StatusBadRequest, code: "bad-query-parameter", detail: name + " " + message,
		fields: []domain.FieldError{{Field: name, Message: message}}}
}

// pageOf builds the pagination half of a list body.
func pageOf(p ports.Page, total int) pagination {
	return pagination{Page: p.Number, PageSize: p.Size, TotalCount: total, HasMore: p.Offset()+p.Size < total}
}
