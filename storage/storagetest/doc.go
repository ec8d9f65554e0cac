// Package storagetest holds the conformance suite ([Run]) and the shared benchmarks
// ([Bench]) that every [storage.Store] implementation must pass, and a fake [Clock] for
// expiring entries without sleeping, or [WithRealTime] where a server keeps expiry.
//
// An implementation's tests call them with a constructor:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T, now func() time.Time) storage.Store {
//			return storage.NewMemory(storage.WithClock(now))
//		})
//	}
//
//	func BenchmarkStore(b *testing.B) {
//		storagetest.Bench(b, func(b *testing.B) storage.Store { return storage.NewMemory() })
//	}
package storagetest
