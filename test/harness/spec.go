package harness

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/chatd/chatd/internal/adapters/httpapi/apidocs"
)

// Spec is the published OpenAPI document with a router to find operations.
type Spec struct {
	doc    *openapi3.T
	router routers.Router
}

var (
	specOnce sync.Once
	spec     *Spec
	specErr  error
)

// LoadSpec parses the document the server publishes (once per process).
func LoadSpec(t testing.TB) *Spec {
	t.Helper()
	specOnce.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromData(apidocs.Spec())
		if err != nil {
			specErr = err
			return
		}
		// Match any host: the servers list names the deployment's, and the
		// tests listen on a random port.
		doc.Servers = openapi3.Servers{{URL: "/"}}
		router, err := gorillamux.NewRouter(doc)
		if err != nil {
			specErr = err
			return
		}
		spec = &Spec{doc: doc, router: router}
	})
	if specErr != nil {
		t.Fatalf("load OpenAPI document: %v", specErr)
	}
	return spec
}

// Check validates a response against the operation the request matches. A
// request the document does not describe fails the test unless the status
// is 404 or 405 for an unknown route.
func (s *Spec) Check(t testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	u := *req.URL
	lookup := &http.Request{Method: req.Method, URL: &url.URL{Path: u.Path, RawQuery: u.RawQuery}, Header: req.Header}
	route, params, err := s.router.FindRoute(lookup)
	if err != nil {
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			return
		}
		t.Errorf("%s %s answered %d but the OpenAPI document has no such operation: %v", req.Method, u.Path, status, err)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: lookup, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  status,
		Header:  header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s answered %d, which the OpenAPI document does not allow: %v\nbody: %.600s", req.Method, u.Path, status, err, body)
	}
}
