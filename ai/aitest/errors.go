package aitest

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"
)

// An APIError is an error answer in OpenAI's shape: the HTTP status and the
// body {"error":{"message","type","param","code"}}. Script one with
// [Reply].Err, [Fail] or [Server.FailNext]; [ErrorFor] gives OpenAI's wording
// for a status.
type APIError struct {
	// Status is the HTTP status code (400, 401, 404, 429, 500, 503, …).
	// Zero means 500.
	Status int
	// Message is the `message` field.
	Message string
	// Type is the `type` field, e.g. "invalid_request_error".
	Type string
	// Code is the `code` field; empty is sent as null.
	Code string
	// Param is the `param` field; empty is sent as null.
	Param string
	// RetryAfter, when positive, is sent as a Retry-After header in whole
	// seconds, rounded up; when it is not a whole number of seconds, a
	// Retry-After-Ms header (milliseconds, rounded up) is sent too. The
	// openai-go SDK prefers Retry-After-Ms.
	RetryAfter time.Duration
}

// Error returns the status and message, so that an APIError can be used as
// an error value in tests.
func (e *APIError) Error() string {
	return "aitest: HTTP " + strconv.Itoa(e.status()) + ": " + e.Message
}

func (e *APIError) status() int {
	if e.Status == 0 {
		return http.StatusInternalServerError
	}
	return e.Status
}

// ErrorFor returns OpenAI's error for an HTTP status: 400 invalid request,
// 401 invalid API key, 403 unsupported region, 404 model not found, 408
// timeout, 409 conflict, 422 unprocessable, 429 rate limit (with RetryAfter
// 1 s), 500 server error, 502 bad gateway, 503 overloaded; any other status
// gets a generic server_error (5xx) or invalid_request_error (4xx).
func ErrorFor(status int) APIError {
	e := APIError{Status: status}
	switch status {
	case http.StatusBadRequest:
		e.Message, e.Type = "aitest: invalid request", "invalid_request_error"
	case http.StatusUnauthorized:
		e.Message, e.Type, e.Code = "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_request_error", "invalid_api_key"
	case http.StatusForbidden:
		e.Message, e.Type, e.Code = "Country, region, or territory not supported", "request_forbidden", "unsupported_country_region_territory"
	case http.StatusNotFound:
		e.Message, e.Type, e.Code = "The model does not exist or you do not have access to it.", "invalid_request_error", "model_not_found"
	case http.StatusRequestTimeout:
		e.Message, e.Type = "Request timed out.", "timeout"
	case http.StatusConflict:
		e.Message, e.Type = "aitest: conflict", "invalid_request_error"
	case http.StatusUnprocessableEntity:
		e.Message, e.Type = "aitest: unprocessable entity", "invalid_request_error"
	case http.StatusTooManyRequests:
		e.Message, e.Type, e.Code = "Rate limit reached for requests. Please try again in 1s.", "requests", "rate_limit_exceeded"
		e.RetryAfter = time.Second
	case http.StatusInternalServerError:
		e.Message, e.Type = "The server had an error while processing your request. Sorry about that!", "server_error"
	case http.StatusBadGateway:
		e.Message, e.Type = "Bad gateway.", "server_error"
	case http.StatusServiceUnavailable:
		e.Message, e.Type = "The engine is currently overloaded, please try again later.", "server_error"
	default:
		e.Message, e.Type = "aitest: HTTP "+strconv.Itoa(status), "invalid_request_error"
		if status >= 500 || status < 400 {
			e.Type = "server_error"
		}
	}
	return e
}

// invalid builds a 400 invalid_request_error.
func invalid(param, code, msg string) *APIError {
	return &APIError{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: param, Code: code, Message: msg}
}

type wireError struct {
	Error wireErrorBody `json:"error"`
}

type wireErrorBody struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (e *APIError) body() wireErrorBody {
	return wireErrorBody{Message: e.Message, Type: e.Type, Param: nullable(e.Param), Code: nullable(e.Code)}
}

// writeError answers e: its headers, status and OpenAI-shaped body.
func writeError(w http.ResponseWriter, e *APIError) {
	h := w.Header()
	setRetryAfter(h, e.RetryAfter)
	b, _ := json.Marshal(wireError{Error: e.body()})
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(e.status())
	_, _ = w.Write(append(b, '\n'))
}

// setRetryAfter sets Retry-After (whole seconds, rounded up) and, for a
// fraction of a second, Retry-After-Ms.
func setRetryAfter(h http.Header, d time.Duration) {
	if d <= 0 {
		return
	}
	h.Set("Retry-After", strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10))
	if d%time.Second != 0 {
		h.Set("Retry-After-Ms", strconv.FormatInt(int64(math.Ceil(float64(d)/float64(time.Millisecond))), 10))
	}
}
