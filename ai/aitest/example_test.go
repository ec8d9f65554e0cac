package aitest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/kfbot/kfbot/ai/aitest"
)

// A conversation scripted by its safety_identifier: one tool call, then an
// answer streamed chunk by chunk; then a failure the SDK reports as
// *openai.Error.
func Example() {
	srv := aitest.NewServer()
	defer srv.Close()
	client := openai.NewClient(option.WithBaseURL(srv.BaseURL()), option.WithAPIKey(srv.APIKey()))
	ctx := context.Background()

	const conv = "kf:wkACCOUNT:wmCUSTOMER"
	srv.Script(conv,
		aitest.Tools(aitest.ToolCall{ID: "call_1", Name: "order_status", Arguments: `{"order":"A1"}`}),
		aitest.Text("您的订单已发货。"))

	p := openai.ChatCompletionNewParams{
		Model:            aitest.DefaultModel,
		Messages:         []openai.ChatCompletionMessageParamUnion{openai.UserMessage("我的订单到哪了？")},
		SafetyIdentifier: openai.String(conv),
	}
	resp, err := client.Chat.Completions.New(ctx, p)
	if err != nil {
		fmt.Println(err)
		return
	}
	call := resp.Choices[0].Message.ToolCalls[0]
	fmt.Println(resp.Choices[0].FinishReason, call.Function.Name, call.Function.Arguments)

	p.Messages = append(p.Messages, resp.Choices[0].Message.ToParam(), openai.ToolMessage(`{"shipped":true}`, call.ID))
	stream := client.Chat.Completions.NewStreaming(ctx, p)
	var acc openai.ChatCompletionAccumulator
	chunks := 0
	for stream.Next() {
		acc.AddChunk(stream.Current())
		chunks++
	}
	if err := stream.Err(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(acc.Choices[0].Message.Content, chunks, "chunks")

	srv.FailNext(1, 404)
	_, err = client.Chat.Completions.New(ctx, p)
	var apierr *openai.Error
	if errors.As(err, &apierr) {
		fmt.Println(apierr.StatusCode, apierr.Code)
	}
	fmt.Println(len(srv.RequestsFor(conv)), "requests")
	// Output:
	// tool_calls order_status {"order":"A1"}
	// 您的订单已发货。 10 chunks
	// 404 model_not_found
	// 3 requests
}
