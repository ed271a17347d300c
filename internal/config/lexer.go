package config

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// word is one whitespace-separated token of a line.
type word struct {
	text string
	off  int // byte offset in the line, for "rest of line" arguments
	pos  Pos
}

// line is one statement: a non-blank line that is not a comment.
type line struct {
	text     string // without the line break and trailing blanks
	indented bool   // a sub-command of the open section
	// indent is the width of the blanks before the first word, a tab
	// reaching the next multiple of 8 as in a terminal; it tells a
	// sub-section's lines (a keyring's peer) from their parent's.
	indent int
	words  []word
}

// lexError is a line the lexer could not accept; the parser reports it.
type lexError struct {
	pos Pos
	msg string
}

// lex splits src into statements. Only ' ' and '\t' separate words, as on
// IOS; a trailing '\r' (CRLF files) is dropped. Any other control or space
// character is refused rather than guessed at: a no-break space pasted from
// a web page must not silently become part of a keyword or a key.
func lex(src []byte) ([]line, []lexError) {
	var lines []line
	var errs []lexError
	// Editors on Windows like to start files with a byte order mark.
	text := strings.TrimPrefix(string(src), "\uFEFF")
	for n, text := range strings.Split(text, "\n") {
		num := n + 1
		text = strings.TrimRight(text, " \t\r")
		if msg, col, ok := badCharacter(text); !ok {
			errs = append(errs, lexError{Pos{num, col}, msg})
			continue
		}
		body := strings.TrimLeft(text, " \t")
		if body == "" || body[0] == '!' {
			continue
		}
		ln := line{text: text, indented: len(body) < len(text), indent: indentWidth(text[:len(text)-len(body)])}
		col := 1 // counted as we go: recounting from the line start is quadratic
		for i := 0; i < len(text); {
			if text[i] == ' ' || text[i] == '\t' {
				i++
				col++
				continue
			}
			j := i
			for j < len(text) && text[j] != ' ' && text[j] != '\t' {
				j++
			}
			ln.words = append(ln.words, word{text: text[i:j], off: i, pos: Pos{Line: num, Col: col}})
			col += utf8.RuneCountInString(text[i:j])
			i = j
		}
		lines = append(lines, ln)
	}
	return lines, errs
}

// badCharacter finds the first character the lexer refuses and says why.
func badCharacter(text string) (msg string, col int, ok bool) {
	col = 0
	for i, r := range text {
		col++
		switch {
		case r == utf8.RuneError && isInvalidUTF8(text[i:]):
			return "invalid UTF-8 encoding", col, false
		case r == ' ' || r == '\t':
		case unicode.IsSpace(r):
			return fmt.Sprintf("unexpected white space character %U; use a plain space", r), col, false
		case unicode.IsControl(r):
			return fmt.Sprintf("unexpected control character %U", r), col, false
		case unicode.Is(unicode.Cf, r):
			// Zero-width and direction marks would hide inside names and keys.
			return fmt.Sprintf("unexpected invisible character %U", r), col, false
		}
	}
	return "", 0, true
}

func isInvalidUTF8(s string) bool {
	r, size := utf8.DecodeRuneInString(s)
	return r == utf8.RuneError && size <= 1
}

// indentWidth is the width of the blanks ws.
func indentWidth(ws string) int {
	n := 0
	for _, c := range ws {
		if c == '\t' {
			n += 8 - n%8
		} else {
			n++
		}
	}
	return n
}
