package python

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.starlark.net/syntax"
)

// The translator turns a block as a PolicyKit author wrote it (Python) into
// Starlark source that go.starlark.net can compile:
//
//   - the block becomes the body of "def __block__(<the host's parameters>):"
//     so that a top-level return works; every source line keeps its line number (plus the one
//     header line), and a tab is put in front of each line so that tab and
//     space indentation keep their relative widths;
//   - f-strings become calls to the predeclared __fstr__ / __fmtv__
//     builtins (format specs and !r/!s conversions included);
//   - "import datetime" and friends become no-ops or assignments from the
//     predeclared modules; other imports are refused;
//   - "x is None" / "x is not None" become == / != (Starlark has no "is");
//   - escapes that Python accepts but Starlark refuses ("\d", "\xe9") are
//     rewritten to their Python meaning.
//
// Text inside ordinary strings and comments is never changed, and newlines
// are never added or removed, so an error on line N of the translated body
// is on line N-HeaderLines of the author's block.

const (
	// BlockFunc is the name of the function Translate makes of a block.
	BlockFunc = "__block__"
	// HeaderLines is how many lines Translate puts before the block's first
	// line: an error on line N of the translation is on line N-HeaderLines of
	// the author's block.
	HeaderLines = 1

	fstrName = "__fstr__"
	fmtvName = "__fmtv__"
)

// Importable maps a module name usable in "import" to the hidden
// predeclared name that must hold it (the host predeclares both).
var Importable = map[string]string{
	"datetime": "__mod_datetime__",
	"math":     "__mod_math__",
	"random":   "__mod_random__",
	"json":     "__mod_json__",
}

// unsupportedStatements are Python statements Starlark has no form of, and
// what the author is told about each.
var unsupportedStatements = map[string]string{
	"try":      "try/except is not supported in policy code (there are no exceptions to catch: a failed call fails the block)",
	"except":   "try/except is not supported in policy code (there are no exceptions to catch: a failed call fails the block)",
	"finally":  "try/finally is not supported in policy code",
	"raise":    "raise is not supported in policy code (use fail(\"message\") to fail the block)",
	"class":    "class definitions are not supported in policy code (use dicts and functions)",
	"with":     "the with statement is not supported in policy code",
	"global":   "the global statement is not supported in policy code",
	"nonlocal": "the nonlocal statement is not supported in policy code",
	"del":      "the del statement is not supported in policy code (use dict.pop or list.remove)",
	"assert":   "the assert statement is not supported in policy code (use if ...: fail(\"message\"))",
	"yield":    "yield is not supported in policy code",
	"async":    "async code is not supported in policy code",
	"await":    "await is not supported in policy code",
}

// SourceError is Python that cannot be translated, at a line of the author's
// block; Type is the Python error class (SyntaxError, ImportError, ...).
type SourceError struct {
	Type string
	Line int
	Msg  string
}

func (e *SourceError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Header returns the line Translate puts before a block: the definition of
// the function BlockFunc with the given parameters (the per-evaluation
// objects; everything else in scope is predeclared).
func Header(params []string) string {
	return "def " + BlockFunc + "(" + strings.Join(params, ", ") + "):\n"
}

// Translate returns the Starlark file for one block of Python: the body of
// a function BlockFunc with the given parameters (see Header), every line of
// the block on its own line after HeaderLines, plus a trailing line. The
// error, if any, is a *SourceError.
func Translate(src string, params []string) (string, error) {
	src = NormalizeNewlines(src)
	t := &translator{src: src, line: 1, block: true}
	t.out.Grow(len(src) + len(src)/4 + 32)
	t.out.WriteString(Header(params))
	if err := t.run(); err != nil {
		return "", err
	}
	// A trailing pass keeps empty and comment-only blocks valid.
	t.out.WriteString("\n\tpass\n")
	return rewritePy(t.out.String()), nil
}

// translateExpr translates an expression found inside an f-string field.
func translateExpr(src string, line int) (string, *SourceError) {
	t := &translator{src: src, line: line}
	if err := t.run(); err != nil {
		return "", err
	}
	return t.out.String(), nil
}

// NormalizeNewlines turns "\r\n" and "\r" into "\n", as Python reads source.
func NormalizeNewlines(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

type translator struct {
	src   string
	pos   int
	line  int // current author line, 1-based
	depth int // bracket nesting
	block bool
	out   strings.Builder
}

func (t *translator) errorf(typ, format string, args ...any) *SourceError {
	return &SourceError{Type: typ, Line: t.line, Msg: fmt.Sprintf(format, args...)}
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

func isIdentStart(c byte) bool { return isIdentByte(c) && !(c >= '0' && c <= '9') }

func isStringPrefix(s string) bool {
	switch strings.ToLower(s) {
	case "r", "u", "b", "f", "rb", "br", "fr", "rf":
		return true
	}
	return false
}

func (t *translator) run() *SourceError {
	lineStart, stmtStart, continued := true, true, false
	for t.pos < len(t.src) {
		if lineStart {
			if t.block {
				t.out.WriteByte('\t')
			}
			lineStart = false
			stmtStart = t.depth == 0 && !continued
			continued = false
		}
		c := t.src[t.pos]
		switch {
		case c == '\n':
			t.out.WriteByte('\n')
			t.pos++
			t.line++
			lineStart = true
		case c == '\\' && t.pos+1 < len(t.src) && t.src[t.pos+1] == '\n':
			t.out.WriteString("\\\n")
			t.pos += 2
			t.line++
			lineStart, continued = true, true
		case c == '#':
			end := strings.IndexByte(t.src[t.pos:], '\n')
			if end < 0 {
				end = len(t.src) - t.pos
			}
			t.out.WriteString(t.src[t.pos : t.pos+end])
			t.pos += end
		case c == ' ' || c == '\t' || c == '\f':
			t.out.WriteByte(c)
			t.pos++
		case c == '"' || c == '\'':
			if err := t.stringRun(""); err != nil {
				return err
			}
			stmtStart = false
		case isIdentStart(c):
			start := t.pos
			for t.pos < len(t.src) && isIdentByte(t.src[t.pos]) {
				t.pos++
			}
			ident := t.src[start:t.pos]
			switch {
			case t.pos < len(t.src) && (t.src[t.pos] == '"' || t.src[t.pos] == '\'') && isStringPrefix(ident):
				if err := t.stringRun(ident); err != nil {
					return err
				}
			case t.block && stmtStart && t.depth == 0 && unsupportedStatements[ident] != "":
				return t.errorf("SyntaxError", "%s", unsupportedStatements[ident])
			case t.block && stmtStart && t.depth == 0 && (ident == "import" || ident == "from"):
				t.pos = start
				if err := t.importStmt(); err != nil {
					return err
				}
			case ident == "is":
				t.isOperator()
			default:
				t.out.WriteString(ident)
			}
			stmtStart = false
		case c >= '0' && c <= '9' || c == '.' && t.pos+1 < len(t.src) && t.src[t.pos+1] >= '0' && t.src[t.pos+1] <= '9':
			start := t.pos
			for t.pos < len(t.src) && (isIdentByte(t.src[t.pos]) || t.src[t.pos] == '.') {
				t.pos++
			}
			t.out.WriteString(t.src[start:t.pos])
			stmtStart = false
		case c == '(' || c == '[' || c == '{':
			t.depth++
			t.out.WriteByte(c)
			t.pos++
			stmtStart = false
		case c == ')' || c == ']' || c == '}':
			if t.depth > 0 {
				t.depth--
			}
			t.out.WriteByte(c)
			t.pos++
			stmtStart = false
		case c == ';':
			t.out.WriteByte(c)
			t.pos++
			stmtStart = t.depth == 0
		case c == '@' && t.block && stmtStart && t.depth == 0:
			return t.errorf("SyntaxError", "decorators are not supported in policy code")
		case c == ':' && t.pos+1 < len(t.src) && t.src[t.pos+1] == '=':
			return t.errorf("SyntaxError", "assignment expressions (:=) are not supported in policy code")
		default:
			t.out.WriteByte(c)
			t.pos++
			stmtStart = false
		}
	}
	return nil
}

// isOperator rewrites "is" / "is not" (the "is" is already consumed).
func (t *translator) isOperator() {
	i := t.pos
	for i < len(t.src) && (t.src[i] == ' ' || t.src[i] == '\t') {
		i++
	}
	if strings.HasPrefix(t.src[i:], "not") && (i+3 == len(t.src) || !isIdentByte(t.src[i+3])) {
		t.out.WriteString("!=")
		t.pos = i + 3
		return
	}
	t.out.WriteString("==")
}

// importStmt replaces an import statement (at t.pos) by a same-line no-op
// or assignment from the predeclared modules.
func (t *translator) importStmt() *SourceError {
	end := t.pos
	for end < len(t.src) && t.src[end] != '\n' && t.src[end] != ';' && t.src[end] != '#' {
		end++
	}
	stmt := strings.TrimSpace(t.src[t.pos:end])
	if strings.ContainsAny(stmt, "()\\") {
		return t.errorf("SyntaxError", "unsupported import statement %q (use one line without parentheses)", stmt)
	}
	var names, values []string
	words := strings.Fields(strings.ReplaceAll(stmt, ",", " , "))
	bad := func() *SourceError { return t.errorf("SyntaxError", "invalid import statement %q", stmt) }
	module := func(name string) (string, *SourceError) {
		v, ok := Importable[name]
		if !ok {
			return "", t.errorf("ImportError", "import of module %q is not allowed in policy code (available: datetime, math, random, json)", name)
		}
		return v, nil
	}
	// items parses "a [as b] {, c [as d]}" into (name, alias) pairs.
	items := func(ws []string) ([][2]string, *SourceError) {
		var out [][2]string
		for len(ws) > 0 {
			name, alias := ws[0], ws[0]
			ws = ws[1:]
			if len(ws) >= 2 && ws[0] == "as" {
				alias = ws[1]
				ws = ws[2:]
			}
			if len(ws) > 0 {
				if ws[0] != "," {
					return nil, bad()
				}
				ws = ws[1:]
			}
			if name == "," || name == "as" || alias == "," {
				return nil, bad()
			}
			out = append(out, [2]string{name, alias})
		}
		if len(out) == 0 {
			return nil, bad()
		}
		return out, nil
	}
	switch {
	case len(words) >= 2 && words[0] == "import":
		its, err := items(words[1:])
		if err != nil {
			return err
		}
		for _, it := range its {
			v, err := module(it[0])
			if err != nil {
				return err
			}
			if it[1] != it[0] {
				names, values = append(names, it[1]), append(values, v)
			}
		}
	case len(words) >= 4 && words[0] == "from" && words[2] == "import":
		v, err := module(words[1])
		if err != nil {
			return err
		}
		if words[3] == "*" {
			return t.errorf("SyntaxError", "\"from %s import *\" is not supported", words[1])
		}
		its, err := items(words[3:])
		if err != nil {
			return err
		}
		for _, it := range its {
			names, values = append(names, it[1]), append(values, v+"."+it[0])
		}
	default:
		return bad()
	}
	if len(names) == 0 {
		t.out.WriteString("pass")
	} else {
		t.out.WriteString(strings.Join(names, ", ") + " = " + strings.Join(values, ", "))
	}
	t.pos = end
	return nil
}

// stringRun translates a string literal and any literals implicitly
// concatenated to it ("a" "b", or one per line inside brackets), which
// Starlark lacks: the run becomes ("a" + "b"), newlines kept.
func (t *translator) stringRun(prefix string) *SourceError {
	outer := t.out
	t.out = strings.Builder{}
	n := 0
	for {
		if err := t.stringLit(prefix); err != nil {
			t.out = outer
			return err
		}
		n++
		gap, next, ok := t.peekString()
		if !ok {
			break
		}
		t.out.WriteString(gap)
		if gap != "" && strings.ContainsRune(" \t\n", rune(gap[len(gap)-1])) {
			t.out.WriteString("+ ")
		} else {
			t.out.WriteString(" + ")
		}
		t.line += strings.Count(gap, "\n")
		t.pos = next
		prefix = ""
		for t.pos < len(t.src) && isIdentByte(t.src[t.pos]) {
			prefix += t.src[t.pos : t.pos+1]
			t.pos++
		}
	}
	run := t.out.String()
	t.out = outer
	if n > 1 {
		run = "(" + run + ")"
	}
	t.out.WriteString(run)
	return nil
}

// peekString reports whether another string literal follows t.pos,
// separated only by blanks (and, inside brackets, newlines and comments);
// gap is the separating text and next the literal's (prefix) start.
func (t *translator) peekString() (gap string, next int, ok bool) {
	i := t.pos
	for i < len(t.src) {
		switch c := t.src[i]; {
		case c == ' ' || c == '\t' || c == '\f':
			i++
			continue
		case c == '\\' && i+1 < len(t.src) && t.src[i+1] == '\n':
			i += 2
			continue
		case c == '\n' && t.depth > 0:
			i++
			continue
		case c == '#' && t.depth > 0:
			for i < len(t.src) && t.src[i] != '\n' {
				i++
			}
			continue
		}
		break
	}
	j := i
	for j < len(t.src) && isIdentByte(t.src[j]) {
		j++
	}
	if j >= len(t.src) || (t.src[j] != '"' && t.src[j] != '\'') || (j > i && !isStringPrefix(t.src[i:j])) {
		return "", 0, false
	}
	return t.src[t.pos:i], i, true
}

// stringLit copies (or, for f-strings, translates) the string literal whose
// opening quote is at t.pos; prefix is the already consumed prefix.
func (t *translator) stringLit(prefix string) *SourceError {
	lp := strings.ToLower(prefix)
	raw := strings.Contains(lp, "r")
	isBytes := strings.Contains(lp, "b")
	q := t.src[t.pos]
	delim := string(q)
	if strings.HasPrefix(t.src[t.pos:], strings.Repeat(delim, 3)) {
		delim = strings.Repeat(delim, 3)
	}
	if strings.Contains(lp, "f") {
		return t.fstring(raw, delim)
	}
	startLine := t.line
	t.out.WriteString(strings.NewReplacer("u", "", "U", "").Replace(prefix))
	t.out.WriteString(delim)
	t.pos += len(delim)
	triple := len(delim) == 3
	for {
		if t.pos >= len(t.src) {
			return &SourceError{Type: "SyntaxError", Line: startLine, Msg: "unterminated string literal"}
		}
		c := t.src[t.pos]
		switch {
		case strings.HasPrefix(t.src[t.pos:], delim):
			t.out.WriteString(delim)
			t.pos += len(delim)
			return nil
		case c == '\n':
			if !triple {
				return &SourceError{Type: "SyntaxError", Line: startLine, Msg: "unterminated string literal"}
			}
			t.line++
			t.out.WriteByte(c)
			t.pos++
		case c == '\\' && t.pos+1 < len(t.src):
			if t.src[t.pos+1] == '\n' {
				t.line++
			}
			if raw || isBytes {
				t.out.WriteString(t.src[t.pos : t.pos+2])
				t.pos += 2
				continue
			}
			t.pos += t.fixEscape()
		default:
			t.out.WriteByte(c)
			t.pos++
		}
	}
}

// fixEscape writes the escape sequence at t.pos in a form Starlark accepts
// with Python's meaning, and returns the number of source bytes consumed.
func (t *translator) fixEscape() int {
	s := t.src[t.pos:]
	switch c := s[1]; c {
	case '\n', 'a', 'b', 'f', 'n', 'r', 't', 'v', '\\', '\'', '"', 'u', 'U':
		t.out.WriteString(s[:2])
		return 2
	case 'x':
		if len(s) >= 4 {
			if n, err := strconv.ParseUint(s[2:4], 16, 8); err == nil {
				if n > 127 {
					fmt.Fprintf(&t.out, "\\u%04X", n)
				} else {
					t.out.WriteString(s[:4])
				}
				return 4
			}
		}
		t.out.WriteString(s[:2])
		return 2
	case '0', '1', '2', '3', '4', '5', '6', '7':
		n, i := 0, 1
		for ; i < 4 && i < len(s) && s[i] >= '0' && s[i] <= '7'; i++ {
			n = n*8 + int(s[i]-'0')
		}
		if n > 127 {
			fmt.Fprintf(&t.out, "\\u%04X", n)
		} else {
			t.out.WriteString(s[:i])
		}
		return i
	default:
		// Python keeps an unknown escape as a backslash and the character.
		t.out.WriteString(`\\`)
		return 1
	}
}

// fpart is one piece of an f-string: a literal or a replacement field.
type fpart struct {
	isLit   bool
	lit     string // decoded literal text
	expr    string // translated field expression
	conv    byte   // 0, 's', 'r' or 'a'
	hasSpec bool
	spec    []fpart
	nl      int // source newlines consumed by this part outside expr
}

// fstring translates the f-string whose opening delimiter is at t.pos.
func (t *translator) fstring(raw bool, delim string) *SourceError {
	startLine := t.line
	t.pos += len(delim)
	parts, err := t.fparts(raw, delim, false, startLine)
	if err != nil {
		return err
	}
	t.out.WriteString(emitParts(parts))
	return nil
}

// fparts parses f-string content up to the closing delimiter (consumed) or,
// inSpec, up to the '}' that closes the field (not consumed).
func (t *translator) fparts(raw bool, delim string, inSpec bool, startLine int) ([]fpart, *SourceError) {
	var parts []fpart
	var lit strings.Builder
	nl := 0
	triple := len(delim) == 3
	flush := func() *SourceError {
		if lit.Len() == 0 && nl == 0 {
			return nil
		}
		s, err := pyUnescape(lit.String(), raw)
		if err != nil {
			return t.errorf("SyntaxError", "%v", err)
		}
		parts = append(parts, fpart{isLit: true, lit: s, nl: nl})
		lit.Reset()
		nl = 0
		return nil
	}
	unterminated := func() *SourceError {
		return &SourceError{Type: "SyntaxError", Line: startLine, Msg: "unterminated f-string"}
	}
	for {
		if t.pos >= len(t.src) {
			return nil, unterminated()
		}
		s := t.src[t.pos:]
		c := s[0]
		switch {
		case !inSpec && strings.HasPrefix(s, delim):
			t.pos += len(delim)
			return parts, flush()
		case inSpec && c == '}':
			return parts, flush()
		case inSpec && strings.HasPrefix(s, delim):
			return nil, t.errorf("SyntaxError", "f-string: expecting '}'")
		case c == '\n':
			if !triple {
				return nil, unterminated()
			}
			lit.WriteByte('\n')
			nl++
			t.line++
			t.pos++
		case c == '\\' && len(s) > 1 && (s[1] == '{' || s[1] == '}'):
			// "\{" is a literal backslash followed by a field (or "{{").
			if raw {
				lit.WriteByte('\\')
			} else {
				lit.WriteString(`\\`)
			}
			t.pos++
		case c == '\\' && len(s) > 1:
			if s[1] == '\n' {
				nl++
				t.line++
			}
			if !raw && s[1] == 'N' && len(s) > 2 && s[2] == '{' {
				if j := strings.IndexByte(s, '}'); j > 0 {
					lit.WriteString(s[:j+1])
					t.pos += j + 1
					continue
				}
			}
			lit.WriteString(s[:2])
			t.pos += 2
		case c == '{':
			if !inSpec && len(s) > 1 && s[1] == '{' {
				lit.WriteByte('{')
				t.pos += 2
				continue
			}
			if err := flush(); err != nil {
				return nil, err
			}
			t.pos++
			f, err := t.field(raw, delim, startLine)
			if err != nil {
				return nil, err
			}
			parts = append(parts, f)
		case c == '}':
			if len(s) > 1 && s[1] == '}' {
				lit.WriteByte('}')
				t.pos += 2
				continue
			}
			return nil, t.errorf("SyntaxError", "f-string: single '}' is not allowed")
		default:
			lit.WriteByte(c)
			t.pos++
		}
	}
}

// field parses a replacement field after its '{' and consumes its '}'.
func (t *translator) field(raw bool, delim string, startLine int) (fpart, *SourceError) {
	exprStart, exprLine := t.pos, t.line
	end, err := t.scanFieldExpr(delim, startLine)
	if err != nil {
		return fpart{}, err
	}
	exprText := t.src[exprStart:end]
	if strings.TrimSpace(exprText) == "" {
		return fpart{}, t.errorf("SyntaxError", "f-string: empty expression not allowed")
	}
	t.line += strings.Count(exprText, "\n")
	t.pos = end
	var f fpart
	debug := ""
	if t.src[t.pos] == '=' {
		t.pos++
		for t.pos < len(t.src) && (t.src[t.pos] == ' ' || t.src[t.pos] == '\t') {
			t.pos++
		}
		debug = t.src[exprStart:t.pos]
	}
	if t.pos < len(t.src) && t.src[t.pos] == '!' {
		if t.pos+1 >= len(t.src) || !strings.ContainsRune("sra", rune(t.src[t.pos+1])) {
			return fpart{}, t.errorf("SyntaxError", "f-string: invalid conversion character: expected 's', 'r', or 'a'")
		}
		f.conv = t.src[t.pos+1]
		t.pos += 2
	}
	if t.pos < len(t.src) && t.src[t.pos] == ':' {
		t.pos++
		spec, err := t.fparts(raw, delim, true, startLine)
		if err != nil {
			return fpart{}, err
		}
		f.hasSpec, f.spec = true, spec
	}
	if t.pos >= len(t.src) || t.src[t.pos] != '}' {
		return fpart{}, t.errorf("SyntaxError", "f-string: expecting '}'")
	}
	t.pos++
	expr, err := translateExpr(exprText, exprLine)
	if err != nil {
		return fpart{}, err
	}
	f.expr = expr
	if debug != "" {
		if f.conv == 0 && !f.hasSpec {
			f.conv = 'r'
		}
		f.lit = debug // emitted as a literal before the value
	}
	return f, nil
}

// scanFieldExpr finds the end of a field expression starting at t.pos: the
// index of the '}', '!', ':' or '=' that ends it at bracket depth 0.
func (t *translator) scanFieldExpr(delim string, startLine int) (int, *SourceError) {
	s := t.src
	depth := 0
	i := t.pos
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"' || c == '\'':
			if len(delim) == 1 && strings.HasPrefix(s[i:], delim) && depth == 0 {
				// Python < 3.12 style: the f-string's own quote ends it.
				return 0, t.errorf("SyntaxError", "f-string: expecting '}'")
			}
			j, ok := skipString(s, i)
			if !ok {
				return 0, &SourceError{Type: "SyntaxError", Line: startLine, Msg: "unterminated string in f-string expression"}
			}
			i = j
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdentByte(s[j]) {
				j++
			}
			if j < len(s) && (s[j] == '"' || s[j] == '\'') && isStringPrefix(s[i:j]) {
				k, ok := skipString(s, j)
				if !ok {
					return 0, &SourceError{Type: "SyntaxError", Line: startLine, Msg: "unterminated string in f-string expression"}
				}
				j = k
			}
			i = j
		case c == '(' || c == '[' || c == '{':
			depth++
			i++
		case c == ')' || c == ']':
			depth--
			i++
		case c == '}':
			if depth == 0 {
				return i, nil
			}
			depth--
			i++
		case depth == 0 && c == '!':
			if i+1 < len(s) && s[i+1] == '=' {
				i += 2
				continue
			}
			return i, nil
		case depth == 0 && c == ':':
			return i, nil
		case depth == 0 && c == '=':
			if i+1 < len(s) && s[i+1] == '=' {
				i += 2
				continue
			}
			if i > t.pos && strings.IndexByte("=!<>", s[i-1]) >= 0 {
				i++
				continue
			}
			return i, nil
		case c == '\n' && len(delim) == 1:
			return 0, &SourceError{Type: "SyntaxError", Line: startLine, Msg: "unterminated f-string"}
		default:
			i++
		}
	}
	return 0, &SourceError{Type: "SyntaxError", Line: startLine, Msg: "unterminated f-string"}
}

// skipString returns the index just after the string literal whose opening
// quote is at s[i].
func skipString(s string, i int) (int, bool) {
	q := s[i : i+1]
	delim := q
	if strings.HasPrefix(s[i:], q+q+q) {
		delim = q + q + q
	}
	j := i + len(delim)
	for j < len(s) {
		switch {
		case strings.HasPrefix(s[j:], delim):
			return j + len(delim), true
		case s[j] == '\\':
			j += 2
		case s[j] == '\n' && len(delim) == 1:
			return 0, false
		default:
			j++
		}
	}
	return 0, false
}

// emitParts renders f-string parts as a Starlark expression, keeping the
// source's newlines inside the call's parentheses.
func emitParts(parts []fpart) string {
	allLit, nl := true, 0
	var lit strings.Builder
	for _, p := range parts {
		if !p.isLit {
			allLit = false
			break
		}
		lit.WriteString(p.lit)
		nl += p.nl
	}
	if allLit {
		q := syntax.Quote(lit.String(), false)
		if nl == 0 {
			return q
		}
		return "(" + q + strings.Repeat("\n", nl) + ")"
	}
	var b strings.Builder
	b.WriteString(fstrName + "(")
	first := true
	sep := func() {
		if !first {
			b.WriteString(", ")
		}
		first = false
	}
	for _, p := range parts {
		if p.isLit {
			sep()
			b.WriteString(syntax.Quote(p.lit, false))
			b.WriteString(strings.Repeat("\n", p.nl))
			continue
		}
		if p.lit != "" { // "{x=}" debug text
			sep()
			b.WriteString(syntax.Quote(p.lit, false))
		}
		sep()
		if p.conv == 0 && !p.hasSpec {
			b.WriteString("(" + p.expr + ")")
			continue
		}
		conv := ""
		if p.conv != 0 {
			conv = string(p.conv)
		}
		spec := `""`
		if p.hasSpec && len(p.spec) > 0 {
			spec = emitParts(p.spec)
		}
		b.WriteString(fmtvName + "((" + p.expr + "), " + syntax.Quote(conv, false) + ", " + spec + ")")
	}
	b.WriteString(")")
	return b.String()
}

// pyUnescape decodes the escape sequences of a Python string literal body.
func pyUnescape(s string, raw bool) (string, error) {
	if raw || !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		e := s[i+1]
		switch e {
		case '\n':
			i += 2
		case 'a', 'b', 'f', 'n', 'r', 't', 'v', '\\', '\'', '"':
			b.WriteByte(map[byte]byte{'a': '\a', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v', '\\': '\\', '\'': '\'', '"': '"'}[e])
			i += 2
		case '0', '1', '2', '3', '4', '5', '6', '7':
			n, j := 0, i+1
			for ; j < i+4 && j < len(s) && s[j] >= '0' && s[j] <= '7'; j++ {
				n = n*8 + int(s[j]-'0')
			}
			b.WriteRune(rune(n))
			i = j
		case 'x', 'u', 'U':
			size := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if i+2+size > len(s) {
				return "", fmt.Errorf("truncated \\%c escape", e)
			}
			n, err := strconv.ParseUint(s[i+2:i+2+size], 16, 32)
			if err != nil || n > utf8.MaxRune {
				return "", fmt.Errorf("invalid \\%c escape %q", e, s[i:i+2+size])
			}
			b.WriteRune(rune(n))
			i += 2 + size
		case 'N':
			return "", fmt.Errorf("\\N{...} escapes are not supported")
		default:
			b.WriteByte('\\')
			i++
		}
	}
	return b.String(), nil
}
