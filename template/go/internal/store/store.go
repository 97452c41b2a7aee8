// Package store holds the demo data the crash demo reads past the end of.
package store

var names = []string{"ada", "grace", "barbara"}

// Load returns the name stored at index i. It does not check i: the crash
// demo relies on that (index out of range, three packages deep).
func Load(i int) string {
	return names[i]
}
