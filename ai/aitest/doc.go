// Package aitest provides a fake OpenAI-compatible chat completions server
// (and a fake Dify chat API), shaped like net/http/httptest and kf/kftest,
// for kfbot's tests and its users'.
//
// The fake speaks the wire: it decodes requests itself, checks what OpenAI
// checks, and answers with the JSON and server-sent event frames the
// openai-go SDK (github.com/openai/openai-go/v3) parses. The package imports
// neither the SDK nor any other part of kfbot; its tests use the real SDK.
//
// # Using it
//
//	srv := aitest.NewServer()
//	defer srv.Close()
//	client := openai.NewClient(option.WithBaseURL(srv.BaseURL()), option.WithAPIKey(srv.APIKey()))
//	srv.Script("kf:wkACCOUNT:wmCUSTOMER", aitest.Text("您好！"))
//	// … run the code under test, then assert on srv.Requests().
//
// [NewServer] listens on a loopback port like httptest.NewServer.
// [NewUnstartedServer] does not listen; its [Server.Transport] serves
// requests in process without sockets (pass it with
// option.WithHTTPClient(&http.Client{Transport: srv.Transport()})), so it
// works inside a testing/synctest bubble, where [Server.SetLatency],
// [Server.SetChunkDelay] and the SDK's retry back-off all run on the fake
// clock. [Server.Handler] mounts it anywhere.
//
// # Endpoints
//
//   - POST /v1/chat/completions (and /chat/completions, for a base URL set
//     without "/v1"): the bearer key must be [Server.APIKey] (401
//     otherwise, invalid_api_key when it is wrong); the body is decoded and
//     checked (400 invalid_request_error with `param` and `code`: model
//     and messages required, roles, content strings or parts, tool calls
//     answered by tool messages in order, temperature 0–2, top_p 0–1,
//     max_tokens ≥ 1, stream_options only with stream, tool names, image
//     parts only in user messages with a data: URL of PNG, JPEG, GIF or WebP
//     in base64, or an http(s) URL); the model must be known (404
//     model_not_found; [WithModels], [Server.AddModel], default
//     [DefaultModel]); a [Model] marked TextOnly refuses images with a 400.
//     The answer is one chat.completion object, or with `"stream":true`
//     chat.completion.chunk frames ("data: {…}\n\n") ending with
//     "data: [DONE]\n\n", with a usage chunk (`choices: []`) before it when
//     `stream_options.include_usage` is set. Tool calls are streamed as
//     deltas keyed by index: first id, type and name with empty arguments,
//     then the arguments in pieces; finish_reason is "tool_calls". The id
//     stays the same across a stream's chunks, as the SDK's accumulator
//     requires.
//   - GET /v1/models: the known models.
//   - POST /v1/chat-messages: Dify's chat API (see below).
//
// Any other path answers 404 in OpenAI's error shape.
//
// # Scripting answers
//
// Each request is answered, in this order of precedence, by a fault queued
// with [Server.FailNext]; by the next [Reply] scripted for its conversation
// with [Server.Script]; by the next one of the shared queue
// ([Server.Enqueue]); or by the default function ([Server.SetDefault]),
// which by default echoes the last user message. A [Reply] holds text
// (or explicit stream chunks), reasoning_content, tool calls, an error
// ([APIError], [Fail], [ErrorFor]) or a mid-stream error frame, and its
// latency.
//
// A conversation is identified by the request's `safety_identifier`, or,
// when it has none, by its `user` — both fields of openai-go's
// ChatCompletionNewParams (SafetyIdentifier, User) that a caller such as
// kfbot's ai package sets per customer, e.g. "kf:<open_kfid>:<external_userid>"
// ([Request].Conversation). For Dify requests the conversation is the
// `user` field.
//
// # Recording
//
// [Server.Requests] returns every chat completion request with its decoded
// model, messages (text and image parts, with a data: URL's bytes),
// tools, temperature, max tokens, stream flags, user fields, unknown
// top-level fields, raw body, headers and the status answered.
// [Server.Calls] counts requests per endpoint, including refused ones. A
// request is recorded before its answer is written.
//
// # Errors and retries
//
// Errors are OpenAI's body {"error":{"message","type","param","code"}}
// with the status; the SDK returns them as *openai.Error. A 429 from
// [ErrorFor] carries Retry-After: 1 (whole seconds); set
// [APIError].RetryAfter to a fraction of a second to send Retry-After-Ms
// too. openai-go v3.102.0 retries 408, 409, 429 and 5xx twice by default,
// waiting exactly the Retry-After-Ms (else Retry-After) delay when the
// server sends one, and 0.5 s·2ⁿ less up to 25 % jitter otherwise; it
// does not retry 400, 401, 403, 404 or 422 (see the package tests, which
// measure this on the fake clock).
//
// # Dify
//
// POST /v1/chat-messages takes `query`, `inputs` (an object), `user`,
// `response_mode` ("blocking", the default, or "streaming"),
// `conversation_id` and `files`. Without conversation_id the server
// creates a conversation bound to the user and returns its id; a
// conversation_id the server does not know, or one created for another
// user, gets Dify's 404 {"code":"not_found","message":"Conversation Not
// Exists.","status":404}, and an empty one a 400 (as Dify 1.11 does).
// Streamed answers are "message" events (or "agent_message",
// [WithDifyAgent]) then "message_end" with the usage, or an "error" event
// for a [Reply] with StreamErr. Replies come from the same scripts as chat
// completions (a Dify request's conversation for [Server.Script] is its
// `user`; the default function sees a [Request] with the query as its one
// user message and Model "dify"); a Reply's tool calls and reasoning are
// not sent. [Server.ForgetDifyConversation] deletes a conversation;
// [Server.DifyRequests] records the requests, apart from
// [Server.Requests].
//
// # Concurrency
//
// A Server is safe for concurrent use; scripted replies are consumed
// atomically, once each. The package has no dependency on package testing.
package aitest
