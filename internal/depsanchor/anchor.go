// Package depsanchor is a temporary build anchor that pins dependencies while
// packages are being written in parallel. It is removed before the final commit.
package depsanchor

import (
	_ "github.com/dgraph-io/badger/v4"
	_ "github.com/stretchr/testify/assert"
	_ "github.com/stretchr/testify/require"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/sync/semaphore"
	_ "golang.org/x/sync/singleflight"
)
