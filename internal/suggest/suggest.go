// Package suggest finds the known word a mistyped one was probably meant to be: the one
// "did you mean" rule of kfbot's configuration file, rule files and command line.
package suggest

// Closest returns the word of known closest to s when it is close enough to be a typo of
// it — at most max(1, len(word)/3) edits away — else "". Ties go to the earlier word.
func Closest(s string, known []string) string {
	best, bestD := "", 0
	for _, k := range known {
		d := Distance(s, k)
		if d <= max(1, len([]rune(k))/3) && (best == "" || d < bestD) {
			best, bestD = k, d
		}
	}
	return best
}

// Distance is the optimal string alignment distance between a and b: insertions,
// deletions, substitutions and transpositions of adjacent runes each cost 1.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			c := 1
			if ra[i-1] == rb[j-1] {
				c = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+c)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
