package config

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// matchResult is the outcome of resolving a typed word against keywords.
type matchResult int

const (
	matched matchResult = iota
	ambiguous
	unknown
)

// matchKeyword resolves word against candidates (lower case) the way IOS
// does: case-insensitive, an exact match wins, otherwise a prefix of exactly
// one candidate. For ambiguous words it returns the candidates it could be.
func matchKeyword(word string, candidates []string) (idx int, res matchResult, could []string) {
	w := strings.ToLower(word)
	idx = -1
	for i, c := range candidates {
		if c == w {
			return i, matched, nil
		}
		if strings.HasPrefix(c, w) {
			if idx < 0 {
				idx = i
			}
			could = append(could, c)
		}
	}
	switch len(could) {
	case 0:
		return -1, unknown, nil
	case 1:
		return idx, matched, nil
	}
	return -1, ambiguous, could
}

// suggest returns the candidate closest to word by edit distance, or "" when
// none is close enough to be a plausible typo. Abbreviations count: "tunl"
// is one edit from "tunn", a prefix of "tunnel".
func suggest(word string, candidates []string) string {
	w := strings.ToLower(word)
	n, budget := utf8.RuneCountInString(w), typoBudget(w)
	best, bestDist := "", -1
	for _, c := range candidates {
		lc := []rune(strings.ToLower(c))
		d := budget + 1
		// The distance is at least the difference in length; skipping the
		// hopeless pairs keeps a megabyte-long word cheap.
		if abs(n-len(lc)) <= budget {
			d = editDistance(w, string(lc))
		}
		if n >= 3 && n < len(lc) {
			d = min(d, editDistance(w, string(lc[:n])))
		}
		if d <= budget && (bestDist < 0 || d < bestDist) {
			best, bestDist = c, d
		}
	}
	return best
}

// typoBudget is how many edits still look like a typo of a word this long;
// a larger budget on short words would suggest unrelated keywords.
func typoBudget(w string) int {
	switch n := utf8.RuneCountInString(w); {
	case n <= 2:
		return 0
	case n <= 5:
		return 1
	case n <= 9:
		return 2
	default:
		return 3
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// editDistance is the optimal string alignment distance: Levenshtein plus
// transposition of adjacent characters, the commonest typing slip.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// Three rolling rows: transposition looks two rows back.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// didYouMean formats the hint suffix for an unknown word, or "".
func didYouMean(word string, candidates []string) string {
	if s := suggest(word, candidates); s != "" {
		return fmt.Sprintf("; did you mean %q?", s)
	}
	return ""
}

// quoteList renders candidates as `"a", "b" or "c"`.
func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = fmt.Sprintf("%q", s)
	}
	if len(q) <= 1 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
