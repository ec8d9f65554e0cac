// Package ai is AI replies for kfbot: it turns what a language model answers into messages
// a WeChat Customer Service conversation can carry.
//
// # Fitting answers into WeCom's limits
//
// A model answers in Markdown, at any length; WeChat shows plain text only, a text message
// holds at most 2,048 bytes ([github.com/kfbot/kfbot/kf.MaxTextBytes]), and WeCom allows
// only five messages after each customer message. [PlainText] removes the Markdown while
// keeping every word (lists become "•" lines, links "text (url)", code stays verbatim), and
// [Split] cuts the result into at most three parts at paragraph and sentence boundaries,
// ending with "…" when the answer is too long to send whole. [Shape] does both.
//
// All functions of this package are safe for concurrent use.
package ai
