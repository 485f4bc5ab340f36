package llmsim

import (
	"encoding/json"
	"net/http"
)

type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Code    int    `json:"code"`
}

// writeAPIError answers with an OpenAI-style error body; 429 and 503 carry Retry-After.
func writeAPIError(w *StreamWriter, status int, msg string) {
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	body, _ := json.Marshal(apiError{Error: apiErrorBody{Message: msg, Type: errorType(status), Code: status}})
	w.Header().Set("Content-Type", "application/json")
	w.Status(status, string(body))
}

func errorType(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status == http.StatusNotFound:
		return "not_found_error"
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return "authentication_error"
	case status < 500:
		return "invalid_request_error"
	default:
		return "server_error"
	}
}

// faultMessage is the text of a simulated failure.
func faultMessage(status int) string {
	return "llmsim: simulated failure (" + http.StatusText(status) + ")"
}
