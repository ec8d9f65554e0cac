package ai

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
)

// The built-in tools the model may call.
const (
	ToolHandoff = "transfer_to_human"
	ToolEnd     = "end_session"
	ToolSetVar  = "set_variable"
)

func builtinTool(name string) bool {
	return name == ToolHandoff || name == ToolEnd || name == ToolSetVar
}

// tools lists the tools offered with settings s.
func (a *Assistant) tools(s Settings) []Tool {
	var out []Tool
	if !s.NoHandoff {
		out = append(out, Tool{Name: ToolHandoff,
			Description: "Hand the conversation to a human agent: when the customer asks for a person, or when you cannot help. After calling it, tell the customer in one short sentence that a person will take over.",
			Parameters: map[string]any{"type": "object", "properties": map[string]any{
				"reason": map[string]any{"type": "string", "description": "why the customer needs a person"}}, "required": []string{"reason"}}})
	}
	out = append(out, Tool{Name: ToolEnd,
		Description: "End the conversation when the customer has said goodbye or has nothing more to ask.",
		Parameters:  map[string]any{"type": "object", "properties": map[string]any{}}})
	if len(s.Vars) > 0 {
		out = append(out, Tool{Name: ToolSetVar,
			Description: "Remember a fact about this customer for later messages.",
			Parameters: map[string]any{"type": "object", "properties": map[string]any{
				"name":  map[string]any{"type": "string", "enum": s.Vars},
				"value": map[string]any{"type": "string"}}, "required": []string{"name", "value"}}})
	}
	for _, f := range a.funcs {
		params := f.Parameters
		if params == nil {
			params = map[string]any{"type": "object", "properties": map[string]any{}}
		}
		out = append(out, Tool{Name: f.Name, Description: f.Description, Parameters: params})
	}
	return out
}

// tool runs one tool call and returns what the model reads. Hand-off, end and variables
// are decisions kept in the record and carried out once the answer is sent.
func (x *answer) tool(tc ToolCall) string {
	x.calls++
	if x.calls > x.s.MaxToolCalls {
		x.a.obs.ToolCalled(tc.Name, "refused")
		return `{"error":"too many tool calls for one message: answer the customer now"}`
	}
	out, err := x.runTool(tc)
	outcome := "ok"
	if err != nil {
		outcome = "error"
		x.c.Logger().Warn("ai: tool call failed", slog.String("tool", tc.Name), slog.Any("error", err))
		b, _ := json.Marshal(map[string]string{"error": err.Error()})
		out = string(b)
	}
	x.a.obs.ToolCalled(tc.Name, outcome)
	return out
}

func (x *answer) runTool(tc ToolCall) (string, error) {
	args := json.RawMessage(tc.Arguments)
	if len(args) == 0 {
		args = json.RawMessage("{}")
	}
	switch tc.Name {
	case ToolHandoff:
		if x.s.NoHandoff {
			break
		}
		var p struct{ Reason string }
		_ = json.Unmarshal(args, &p)
		x.rec.Handoff = x.handoffTarget()
		x.a.obs.HandedOff("tool")
		x.c.Logger().Info("ai: the model hands the conversation to a person", slog.String("reason", p.Reason))
		return `{"ok":true,"note":"a person takes over after your reply"}`, nil
	case ToolEnd:
		x.rec.End = true
		return `{"ok":true}`, nil
	case ToolSetVar:
		var p struct{ Name, Value string }
		if err := json.Unmarshal(args, &p); err != nil {
			return "", fmt.Errorf("arguments: %w", err)
		}
		if !slices.Contains(x.s.Vars, p.Name) {
			return "", fmt.Errorf("variable %q may not be set (allowed: %v)", p.Name, x.s.Vars)
		}
		if x.rec.Vars == nil {
			x.rec.Vars = make(map[string]any)
		}
		x.rec.Vars[p.Name] = p.Value
		return `{"ok":true}`, nil
	}
	for _, f := range x.a.funcs {
		if f.Name == tc.Name {
			if !json.Valid(args) {
				return "", fmt.Errorf("arguments are not JSON")
			}
			return f.Run(x.c, args)
		}
	}
	return "", fmt.Errorf("no tool named %q", tc.Name)
}
