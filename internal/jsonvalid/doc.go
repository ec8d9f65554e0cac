// Package jsonvalid checks JSON as json.Valid does, without its state machine, and finds
// where a value or a string ends: the one scanner behind kf's fast answer decoding and
// kf/syncmsg's item decoding.
package jsonvalid
