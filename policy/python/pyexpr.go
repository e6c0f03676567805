package python

import (
	"strings"
)

// The expression pass rewrites Python expressions that Starlark's grammar
// lacks, on the Starlark text the translator produced (f-strings are calls
// by then), without adding or removing a newline:
//
//	a ** b             -> pow(a, b)   (right-associative; -a ** b is -(a ** b))
//	a < b < c          -> (a < b and b < c), or, when b is not a plain name,
//	                      (lambda __m1: a < __m1 and __m1 < c)(b), so b runs once
//	{a, b}             -> set([a, b]) (and set comprehensions likewise)
//	s.format(...)      -> __method__(s, "format", ...), and isnumeric, zfill:
//	                      string methods Starlark lacks, by their Python rules
//
// It works on tokens grouped by brackets: inside one group, separators
// (commas, colons, assignments, newlines and the keywords that bind looser
// than comparisons) cut the tokens into segments, and each segment is one
// operand-level expression.

const methodName = "__method__"

// pyMethods are the string methods provided by __method__.
var pyMethods = map[string]bool{"format": true, "isnumeric": true, "zfill": true}

type ptok struct {
	pre  string // blanks, comments and (inside brackets) newlines before it
	text string
	kind byte // 'n' name, '0' number, 's' string, 'o' operator, 'l' newline, 'x' rewritten
}

// pitem is a token or a bracket group.
type pitem struct {
	tok   ptok
	group *pgroup
}

type pgroup struct {
	open  ptok
	items []pitem
	close ptok // text "" at the end of input
}

func (it pitem) pre() string {
	if it.group != nil {
		return it.group.open.pre
	}
	return it.tok.pre
}

func (it *pitem) setPre(p string) {
	if it.group != nil {
		it.group.open.pre = p
	} else {
		it.tok.pre = p
	}
}

// lexPy splits Starlark source into tokens. Strings are kept whole.
func lexPy(s string) []ptok {
	var out []ptok
	depth := 0
	i := 0
	var pre strings.Builder
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\n' && depth == 0:
			out = append(out, ptok{pre: pre.String(), text: "\n", kind: 'l'})
			pre.Reset()
			i++
			continue
		case c == ' ' || c == '\t' || c == '\f' || c == '\r' || c == '\n':
			pre.WriteByte(c)
			i++
			continue
		case c == '\\' && i+1 < len(s) && s[i+1] == '\n':
			pre.WriteString("\\\n")
			i += 2
			continue
		case c == '#':
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				j = len(s) - i
			}
			pre.WriteString(s[i : i+j])
			i += j
			continue
		}
		start := i
		kind := byte('o')
		switch {
		case c == '"' || c == '\'':
			j, ok := skipString(s, i)
			if !ok {
				j = len(s)
			}
			i, kind = j, 's'
		case isIdentStart(c):
			for i < len(s) && isIdentByte(s[i]) {
				i++
			}
			kind = 'n'
			if i < len(s) && (s[i] == '"' || s[i] == '\'') && isStringPrefix(s[start:i]) {
				j, ok := skipString(s, i)
				if !ok {
					j = len(s)
				}
				i, kind = j, 's'
			}
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			for i < len(s) && (isIdentByte(s[i]) || s[i] == '.' ||
				(s[i] == '+' || s[i] == '-') && (s[i-1] == 'e' || s[i-1] == 'E') && !strings.HasPrefix(s[start:], "0x")) {
				i++
			}
			kind = '0'
		default:
			for _, op := range []string{"**=", "//=", "<<=", ">>=", "**", "//", "==", "!=", "<=", ">=", "->", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<", ">>", ":="} {
				if strings.HasPrefix(s[i:], op) {
					i += len(op)
					break
				}
			}
			if i == start {
				i++
			}
			switch c {
			case '(', '[', '{':
				depth++
			case ')', ']', '}':
				if depth > 0 {
					depth--
				}
			}
		}
		out = append(out, ptok{pre: pre.String(), text: s[start:i], kind: kind})
		pre.Reset()
	}
	if pre.Len() > 0 {
		out = append(out, ptok{pre: pre.String(), kind: 'o'})
	}
	return out
}

// groupPy nests the tokens by brackets; ok is false when they do not
// balance.
func groupPy(toks []ptok) (root *pgroup, ok bool) {
	root = &pgroup{}
	stack := []*pgroup{root}
	balanced := true
	for _, t := range toks {
		top := stack[len(stack)-1]
		switch t.text {
		case "(", "[", "{":
			g := &pgroup{open: t}
			top.items = append(top.items, pitem{group: g})
			stack = append(stack, g)
			continue
		case ")", "]", "}":
			if len(stack) > 1 {
				top.close = t
				stack = stack[:len(stack)-1]
				continue
			}
			balanced = false
		}
		top.items = append(top.items, pitem{tok: t})
	}
	return root, balanced && len(stack) == 1
}

func writeItems(b *strings.Builder, items []pitem) {
	for _, it := range items {
		if it.group == nil {
			b.WriteString(it.tok.pre)
			b.WriteString(it.tok.text)
			continue
		}
		g := it.group
		b.WriteString(g.open.pre)
		b.WriteString(g.open.text)
		writeItems(b, g.items)
		b.WriteString(g.close.pre)
		b.WriteString(g.close.text)
	}
}

func itemsText(items []pitem) string {
	var b strings.Builder
	writeItems(&b, items)
	return b.String()
}

// oneLine is the text of items for a copy: newlines and comments, which a
// copy must not add, become single spaces.
func oneLine(items []pitem) string {
	var b strings.Builder
	var walk func([]pitem)
	flat := func(pre string) {
		if pre != "" {
			b.WriteByte(' ')
		}
	}
	walk = func(items []pitem) {
		for _, it := range items {
			if it.group == nil {
				flat(it.tok.pre)
				b.WriteString(it.tok.text)
				continue
			}
			flat(it.group.open.pre)
			b.WriteString(it.group.open.text)
			walk(it.group.items)
			flat(it.group.close.pre)
			b.WriteString(it.group.close.text)
		}
	}
	walk(items)
	return strings.TrimSpace(b.String())
}

func rewritten(pre, text string) pitem { return pitem{tok: ptok{pre: pre, text: text, kind: 'x'}} }

// replacing returns the item that replaces orig with text (which ends with
// a closing parenthesis): newlines the rewrite dropped go before that
// parenthesis, so that every later line keeps its number.
func replacing(orig []pitem, text string) pitem {
	pre := orig[0].pre()
	lost := strings.Count(itemsText(orig), "\n") - strings.Count(pre, "\n") - strings.Count(text, "\n")
	if lost > 0 {
		text = text[:len(text)-1] + strings.Repeat("\n", lost) + ")"
	}
	return rewritten(pre, text)
}

// looseKeywords bind looser than comparisons: they end an operand.
var looseKeywords = map[string]bool{"and": true, "or": true, "not": true, "if": true, "else": true, "elif": true,
	"for": true, "while": true, "return": true, "lambda": true, "assert": true, "yield": true, "del": true,
	"pass": true, "break": true, "continue": true, "def": true, "load": true, "in": true}

var separators = map[string]bool{",": true, ";": true, ":": true, "=": true, "\n": true, "->": true, ":=": true,
	"+=": true, "-=": true, "*=": true, "/=": true, "//=": true, "%=": true, "&=": true, "|=": true, "^=": true,
	"<<=": true, ">>=": true, "**=": true}

var comparisons = map[string]bool{"<": true, ">": true, "==": true, "!=": true, "<=": true, ">=": true}

// endsOperand reports whether an item can end an operand (so a following
// "**" is binary and a following bracket group is a call or subscript).
func endsOperand(it pitem) bool {
	if it.group != nil {
		return true
	}
	switch it.tok.kind {
	case '0', 's', 'x':
		return true
	case 'n':
		return !looseKeywords[it.tok.text]
	}
	return false
}

// rewritePy runs the expression pass over a translated block.
func rewritePy(src string) string {
	root, ok := groupPy(lexPy(src))
	if !ok {
		return src // a syntax error, which the parser reports as written
	}
	rewriteGroup(root)
	return itemsText(root.items)
}

func rewriteGroup(g *pgroup) {
	for i := range g.items {
		if sub := g.items[i].group; sub != nil {
			rewriteGroup(sub)
			// A brace group after no operand, without a top-level colon, is
			// a set literal or comprehension.
			if sub.open.text == "{" && len(sub.items) > 0 && (i == 0 || !endsOperand(g.items[i-1])) && !hasTopColon(sub.items) &&
				!(sub.items[0].group == nil && sub.items[0].tok.text == "**") {
				sub.open.text, sub.close.text = "set([", "])"
			}
		}
	}
	// Cut into segments and rewrite each.
	var out []pitem
	start := 0
	inFor := false
	flush := func(end int) {
		out = append(out, rewriteSegment(g.items[start:end])...)
	}
	for i := 0; i < len(g.items); i++ {
		it := g.items[i]
		if it.group != nil {
			continue
		}
		t := it.tok.text
		sep := separators[t] || (it.tok.kind == 'n' && looseKeywords[t])
		if t == "not" && i+1 < len(g.items) && g.items[i+1].group == nil && g.items[i+1].tok.text == "in" {
			sep = false // "not in" is a comparison
		}
		switch {
		case t == "for":
			inFor = true
		case t == "in":
			// "in" ends a for's target; anywhere else it compares.
			sep, inFor = inFor, false
		}
		if sep {
			flush(i)
			out = append(out, it)
			start = i + 1
		}
	}
	flush(len(g.items))
	g.items = out
}

func hasTopColon(items []pitem) bool {
	for _, it := range items {
		if it.group == nil && it.tok.text == ":" {
			return true
		}
	}
	return false
}

func rewriteSegment(seg []pitem) []pitem {
	if len(seg) == 0 {
		return seg
	}
	seg = append([]pitem(nil), seg...)
	seg = rewriteMethods(seg)
	seg = rewritePower(seg)
	return rewriteChain(seg)
}

// primaryStart returns the index where the primary expression ending at
// seg[end-1] starts: an atom followed by .name, calls and subscripts.
func primaryStart(seg []pitem, end int) int {
	i := end - 1
	for i > 0 {
		it := seg[i]
		prev := seg[i-1]
		switch {
		case it.group != nil && it.group.open.text != "{" && it.group.open.text != "set([" && endsOperand(prev):
			i-- // a call or subscript of what precedes
		case it.group == nil && it.tok.kind == 'n' && prev.group == nil && prev.tok.text == "." && i >= 2:
			i -= 2 // .name of what precedes
		default:
			return i
		}
	}
	return i
}

// rewriteMethods turns recv.format(args) (and the other pyMethods) into
// __method__(recv, "format", args).
func rewriteMethods(seg []pitem) []pitem {
	for i := 2; i+1 < len(seg); i++ {
		name, dot, call := seg[i], seg[i-1], seg[i+1]
		if name.group != nil || name.tok.kind != 'n' || !pyMethods[name.tok.text] || dot.group != nil || dot.tok.text != "." ||
			call.group == nil || call.group.open.text != "(" || !endsOperand(seg[i-2]) {
			continue
		}
		start := primaryStart(seg, i-1)
		recv := append([]pitem(nil), seg[start:i-1]...)
		recv[0].setPre("")
		text := methodName + "(" + itemsText(recv) + ", \"" + name.tok.text + "\""
		if len(call.group.items) > 0 {
			text += ", " + itemsText(call.group.items) + call.group.close.pre + ")"
		} else {
			text += call.group.close.pre + ")"
		}
		repl := replacing(seg[start:i+2], text)
		seg = append(seg[:start], append([]pitem{repl}, seg[i+2:]...)...)
		i = start
	}
	return seg
}

// rewritePower turns a ** b into pow(a, b).
func rewritePower(seg []pitem) []pitem {
	for {
		i := -1
		for k := 1; k < len(seg); k++ {
			if seg[k].group == nil && seg[k].tok.text == "**" && endsOperand(seg[k-1]) {
				i = k
				break
			}
		}
		if i < 0 {
			return seg
		}
		start := primaryStart(seg, i)
		end, right := powerOperand(seg, i+1)
		if end == i+1 {
			return seg // "a **" with nothing after: leave it to the parser's error
		}
		left := append([]pitem(nil), seg[start:i]...)
		left[0].setPre("")
		repl := replacing(seg[start:end], "pow("+itemsText(left)+", "+right+")")
		seg = append(seg[:start], append([]pitem{repl}, seg[end:]...)...)
	}
}

// powerOperand reads the right operand of ** from seg[i]: unary operators,
// a primary, and (right-associative) a further ** operand. It returns the
// end index and the operand's rewritten text.
func powerOperand(seg []pitem, i int) (int, string) {
	var b strings.Builder
	for i < len(seg) && seg[i].group == nil && (seg[i].tok.text == "-" || seg[i].tok.text == "+" || seg[i].tok.text == "~") {
		if b.Len() > 0 {
			b.WriteString(seg[i].tok.pre)
		}
		b.WriteString(seg[i].tok.text)
		i++
	}
	if i >= len(seg) || !endsOperand(seg[i]) {
		return i, ""
	}
	start := i
	i++
	for i < len(seg) {
		switch {
		case seg[i].group != nil && seg[i].group.open.text != "{" && seg[i].group.open.text != "set([":
			i++
			continue
		case seg[i].group == nil && seg[i].tok.text == "." && i+1 < len(seg) && seg[i+1].group == nil && seg[i+1].tok.kind == 'n':
			i += 2
			continue
		}
		break
	}
	prim := append([]pitem(nil), seg[start:i]...)
	if b.Len() == 0 {
		prim[0].setPre("")
	}
	text := itemsText(prim)
	if i < len(seg) && seg[i].group == nil && seg[i].tok.text == "**" {
		end, right := powerOperand(seg, i+1)
		if end > i+1 {
			text = "pow(" + text + ", " + right + ")"
			i = end
		}
	}
	b.WriteString(text)
	return i, b.String()
}

// rewriteChain turns a < b < c into (a < b and b < c).
func rewriteChain(seg []pitem) []pitem {
	type op struct{ at, n int } // index and token count ("not in" is 2)
	var ops []op
	for i := 1; i < len(seg); i++ {
		it := seg[i]
		if it.group != nil {
			continue
		}
		switch t := it.tok.text; {
		case comparisons[t]:
			ops = append(ops, op{i, 1})
		case t == "in" && it.tok.kind == 'n':
			ops = append(ops, op{i, 1})
		case t == "not" && i+1 < len(seg) && seg[i+1].group == nil && seg[i+1].tok.text == "in":
			ops = append(ops, op{i, 2})
			i++
		}
	}
	if len(ops) < 2 {
		return seg
	}
	var operands [][]pitem
	var opText []string
	prev := 0
	for _, o := range ops {
		operands = append(operands, seg[prev:o.at])
		opText = append(opText, oneLine(seg[o.at:o.at+o.n]))
		prev = o.at + o.n
	}
	operands = append(operands, seg[prev:])
	for _, o := range operands {
		if len(o) == 0 {
			return seg // not an expression: the parser reports it
		}
	}
	first := append([]pitem(nil), operands[0]...)
	first[0].setPre("")
	// The first and last operands keep their text (and newlines); middle
	// ones are used twice, so each is a plain name or a lambda parameter.
	var params, args []string
	mid := make([]string, len(operands))
	for k := 1; k < len(operands)-1; k++ {
		if plain(operands[k]) {
			mid[k] = oneLine(operands[k])
			continue
		}
		p := "__m" + string(rune('0'+len(params)+1))
		params, args = append(params, p), append(args, itemsText(operands[k]))
		mid[k] = p
	}
	var b strings.Builder
	for k := range ops {
		if k > 0 {
			b.WriteString(" and ")
		}
		var l, r string
		if k == 0 {
			l = itemsText(first)
		} else {
			l = mid[k]
		}
		if k == len(ops)-1 {
			r = itemsText(operands[k+1])
		} else {
			r = " " + mid[k+1]
		}
		b.WriteString(l + " " + opText[k] + r)
	}
	text := "(" + b.String() + ")"
	if len(params) > 0 {
		text = "(lambda " + strings.Join(params, ", ") + ": " + b.String() + ")(" + strings.Join(args, ",") + ")"
	}
	return []pitem{replacing(seg, text)}
}

// plain reports whether an operand is a name, a literal or an attribute of
// a name: evaluating it twice is the same as once.
func plain(items []pitem) bool {
	for _, it := range items {
		if it.group != nil || it.tok.text == "\n" {
			return false
		}
		switch it.tok.kind {
		case 'n', '0', 's':
		default:
			if it.tok.text != "." && it.tok.text != "-" {
				return false
			}
		}
	}
	return len(items) > 0
}
