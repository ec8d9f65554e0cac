// Package layering holds only a test: it checks that no package imports one above it in
// the import table of layering_test.go (forbidden), and that third-party dependencies stay in the one
// package each that owns them, so that a program embedding only bot and kf compiles none
// of mux, expr, YAML or Badger.
package layering
