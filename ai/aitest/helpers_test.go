package aitest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/ai/aitest"
)

// inProcess returns an SDK client that reaches srv through its in-process
// Transport (usable inside a synctest bubble).
func inProcess(srv *aitest.Server, opts ...option.RequestOption) *openai.Client {
	base := []option.RequestOption{
		option.WithBaseURL(srv.BaseURL()),
		option.WithAPIKey(srv.APIKey()),
		option.WithHTTPClient(&http.Client{Transport: srv.Transport()}),
	}
	c := openai.NewClient(append(base, opts...)...)
	return &c
}

// overNetwork returns an SDK client that reaches a started srv over
// loopback.
func overNetwork(srv *aitest.Server, opts ...option.RequestOption) *openai.Client {
	base := []option.RequestOption{
		option.WithBaseURL(srv.BaseURL()),
		option.WithAPIKey(srv.APIKey()),
		option.WithHTTPClient(srv.Client()),
	}
	c := openai.NewClient(append(base, opts...)...)
	return &c
}

// params is a small request for the default model.
func params(user string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    aitest.DefaultModel,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(user)},
	}
}

// rawResponse is an answer to a hand-made request.
type rawResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// post sends body to path through srv's Transport with the right key.
func post(t testing.TB, srv *aitest.Server, path string, body []byte) rawResponse {
	t.Helper()
	return postAs(t, srv, srv.APIKey(), path, body)
}

// postAs is post with a given bearer key.
func postAs(t testing.TB, srv *aitest.Server, key, path string, body []byte) rawResponse {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://aitest.invalid"+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Transport().RoundTrip(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return rawResponse{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// openAIError decodes an OpenAI error body, failing t when the shape is
// wrong: an "error" object with a non-empty message and type, and param and
// code present (string or null).
func openAIError(t testing.TB, body []byte) (message, typ string, param, code *string) {
	t.Helper()
	var e struct {
		Error *struct {
			Message string           `json:"message"`
			Type    string           `json:"type"`
			Param   *json.RawMessage `json:"param"`
			Code    *json.RawMessage `json:"code"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(body, &e), "error body is JSON: %s", body)
	require.NotNil(t, e.Error, "error body has an error object: %s", body)
	require.NotEmpty(t, e.Error.Message, "error message: %s", body)
	require.NotEmpty(t, e.Error.Type, "error type: %s", body)
	var raw map[string]map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &raw))
	for _, k := range []string{"param", "code"} {
		_, ok := raw["error"][k]
		require.True(t, ok, "error body has %q (null allowed): %s", k, body)
	}
	str := func(r *json.RawMessage) *string {
		if r == nil {
			return nil
		}
		var s string
		if json.Unmarshal(*r, &s) != nil {
			return nil
		}
		return &s
	}
	return e.Error.Message, e.Error.Type, str(e.Error.Param), str(e.Error.Code)
}
