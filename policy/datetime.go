package policy

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"

	"github.com/policykit-go/policykit/policy/python"
)

// A Python-like subset of the datetime module. All datetimes are aware and
// in UTC (PolicyKit runs Django with USE_TZ, so proposal_time and vote_time
// are aware); datetime.datetime.now() is Input.Now. Resolution is one
// microsecond, as in Python.

const (
	usPerSecond = int64(1_000_000)
	usPerDay    = 86_400 * usPerSecond
)

// ---- timedelta ----

type timedelta struct{ us int64 }

var (
	_ starlark.HasBinary  = timedelta{}
	_ starlark.HasUnary   = timedelta{}
	_ starlark.Comparable = timedelta{}
	_ starlark.HasAttrs   = timedelta{}
)

func durationValue(d time.Duration) timedelta { return timedelta{us: d.Microseconds()} }

func (d timedelta) Type() string         { return "timedelta" }
func (d timedelta) Freeze()              {}
func (d timedelta) Truth() starlark.Bool { return d.us != 0 }
func (d timedelta) Hash() (uint32, error) {
	return uint32(d.us ^ d.us>>32), nil
}

// days, seconds, microseconds as Python normalises them.
func (d timedelta) parts() (days, secs, us int64) {
	days = floorDiv(d.us, usPerDay)
	rem := d.us - days*usPerDay
	return days, rem / usPerSecond, rem % usPerSecond
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func (d timedelta) String() string {
	days, secs, us := d.parts()
	var b strings.Builder
	if days != 0 {
		plural := "s"
		if days == 1 || days == -1 {
			plural = ""
		}
		fmt.Fprintf(&b, "%d day%s, ", days, plural)
	}
	fmt.Fprintf(&b, "%d:%02d:%02d", secs/3600, secs/60%60, secs%60)
	if us != 0 {
		fmt.Fprintf(&b, ".%06d", us)
	}
	return b.String()
}

func (d timedelta) totalSeconds() float64 { return float64(d.us) / float64(usPerSecond) }

func (d timedelta) Attr(name string) (starlark.Value, error) {
	days, secs, us := d.parts()
	switch name {
	case "days":
		return starlark.MakeInt64(days), nil
	case "seconds":
		return starlark.MakeInt64(secs), nil
	case "microseconds":
		return starlark.MakeInt64(us), nil
	case "total_seconds":
		return method("total_seconds", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackArgs(b.Name(), args, kw); err != nil {
				return nil, err
			}
			return starlark.Float(d.totalSeconds()), nil
		}), nil
	}
	return nil, nil
}

func (d timedelta) AttrNames() []string {
	return []string{"days", "microseconds", "seconds", "total_seconds"}
}

func (d timedelta) CompareSameType(op syntax.Token, y starlark.Value, _ int) (bool, error) {
	return compareInts(op, d.us, y.(timedelta).us), nil
}

func compareInts(op syntax.Token, a, b int64) bool {
	switch op {
	case syntax.EQL:
		return a == b
	case syntax.NEQ:
		return a != b
	case syntax.LT:
		return a < b
	case syntax.LE:
		return a <= b
	case syntax.GT:
		return a > b
	case syntax.GE:
		return a >= b
	}
	return false
}

func (d timedelta) Unary(op syntax.Token) (starlark.Value, error) {
	switch op {
	case syntax.MINUS:
		return timedelta{-d.us}, nil
	case syntax.PLUS:
		return d, nil
	}
	return nil, nil
}

func (d timedelta) Binary(op syntax.Token, y starlark.Value, side starlark.Side) (starlark.Value, error) {
	switch y := y.(type) {
	case timedelta:
		a, b := d.us, y.us
		if side == starlark.Right {
			a, b = b, a
		}
		switch op {
		case syntax.PLUS:
			return timedelta{a + b}, nil
		case syntax.MINUS:
			return timedelta{a - b}, nil
		case syntax.SLASH:
			if b == 0 {
				return nil, python.Errorf("ZeroDivisionError", "division by zero")
			}
			return starlark.Float(float64(a) / float64(b)), nil
		case syntax.SLASHSLASH:
			if b == 0 {
				return nil, python.Errorf("ZeroDivisionError", "division by zero")
			}
			return starlark.MakeInt64(floorDiv(a, b)), nil
		case syntax.PERCENT:
			if b == 0 {
				return nil, python.Errorf("ZeroDivisionError", "division by zero")
			}
			return timedelta{a - floorDiv(a, b)*b}, nil
		}
	case starlark.Int, starlark.Float:
		f, _ := starlark.AsFloat(y)
		switch {
		case op == syntax.STAR:
			return timedelta{roundHalfEven(float64(d.us) * f)}, nil
		case (op == syntax.SLASH || op == syntax.SLASHSLASH) && side == starlark.Left:
			if f == 0 {
				return nil, python.Errorf("ZeroDivisionError", "division by zero")
			}
			if i, ok := y.(starlark.Int); ok && op == syntax.SLASHSLASH {
				n, _ := i.Int64()
				return timedelta{floorDiv(d.us, n)}, nil
			}
			return timedelta{roundHalfEven(float64(d.us) / f)}, nil
		}
	}
	return nil, nil
}

func roundHalfEven(f float64) int64 { return int64(math.RoundToEven(f)) }

// ---- datetime ----

type datetime struct{ t time.Time }

var (
	_ starlark.HasBinary  = datetime{}
	_ starlark.Comparable = datetime{}
	_ starlark.HasAttrs   = datetime{}
)

func timeValue(t time.Time) datetime { return datetime{t: t.UTC().Truncate(time.Microsecond)} }

// PyFormat is format(d, spec) and f"{d:spec}": the spec is strftime's.
func (d datetime) PyFormat(spec string) string { return strftime(d.t, spec, true) }

var _ python.Formatter = datetime{}

func (d datetime) Type() string          { return "datetime" }
func (d datetime) Freeze()               {}
func (d datetime) Truth() starlark.Bool  { return true }
func (d datetime) Hash() (uint32, error) { u := d.t.UnixMicro(); return uint32(u ^ u>>32), nil }

// String is Python's str() of an aware UTC datetime.
func (d datetime) String() string { return d.isoformat(" ") }

func (d datetime) isoformat(sep string) string {
	s := d.t.Format("2006-01-02" + sep + "15:04:05")
	if us := d.t.Nanosecond() / 1000; us != 0 {
		s += fmt.Sprintf(".%06d", us)
	}
	return s + "+00:00"
}

func (d datetime) Attr(name string) (starlark.Value, error) {
	t := d.t
	switch name {
	case "year":
		return starlark.MakeInt(t.Year()), nil
	case "month":
		return starlark.MakeInt(int(t.Month())), nil
	case "day":
		return starlark.MakeInt(t.Day()), nil
	case "hour":
		return starlark.MakeInt(t.Hour()), nil
	case "minute":
		return starlark.MakeInt(t.Minute()), nil
	case "second":
		return starlark.MakeInt(t.Second()), nil
	case "microsecond":
		return starlark.MakeInt(t.Nanosecond() / 1000), nil
	case "tzinfo":
		return utcZone, nil
	case "date":
		return noArgs(name, func() starlark.Value { return dateOf(t) }), nil
	case "timestamp":
		return noArgs(name, func() starlark.Value { return starlark.Float(float64(t.UnixMicro()) / 1e6) }), nil
	case "weekday":
		return noArgs(name, func() starlark.Value { return starlark.MakeInt((int(t.Weekday()) + 6) % 7) }), nil
	case "isoweekday":
		return noArgs(name, func() starlark.Value { return starlark.MakeInt((int(t.Weekday())+6)%7 + 1) }), nil
	case "astimezone", "utcnow":
		return method(name, func(_ *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			return d, nil
		}), nil
	case "isoformat":
		return method(name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			sep := "T"
			if err := starlark.UnpackArgs(b.Name(), args, kw, "sep?", &sep); err != nil {
				return nil, err
			}
			return starlark.String(d.isoformat(sep)), nil
		}), nil
	case "strftime":
		return method(name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			var f string
			if err := starlark.UnpackArgs(b.Name(), args, kw, "format", &f); err != nil {
				return nil, err
			}
			return starlark.String(strftime(t, f, true)), nil
		}), nil
	case "replace":
		return method(name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			y, mo, dd := t.Date()
			h, mi, s := t.Clock()
			us := t.Nanosecond() / 1000
			var tz starlark.Value
			m := int(mo)
			if err := starlark.UnpackArgs(b.Name(), args, kw, "year?", &y, "month?", &m, "day?", &dd,
				"hour?", &h, "minute?", &mi, "second?", &s, "microsecond?", &us, "tzinfo?", &tz); err != nil {
				return nil, err
			}
			return makeDatetime(y, m, dd, h, mi, s, us)
		}), nil
	}
	return nil, nil
}

func (d datetime) AttrNames() []string {
	return []string{"astimezone", "date", "day", "hour", "isoformat", "isoweekday", "microsecond", "minute",
		"month", "replace", "second", "strftime", "timestamp", "tzinfo", "weekday", "year"}
}

func (d datetime) CompareSameType(op syntax.Token, y starlark.Value, _ int) (bool, error) {
	return compareInts(op, int64(d.t.Compare(y.(datetime).t)), 0), nil
}

func (d datetime) Binary(op syntax.Token, y starlark.Value, side starlark.Side) (starlark.Value, error) {
	switch y := y.(type) {
	case timedelta:
		switch {
		case op == syntax.PLUS:
			return datetime{d.t.Add(time.Duration(y.us) * time.Microsecond)}, nil
		case op == syntax.MINUS && side == starlark.Left:
			return datetime{d.t.Add(-time.Duration(y.us) * time.Microsecond)}, nil
		}
	case datetime:
		if op == syntax.MINUS {
			a, b := d.t, y.t
			if side == starlark.Right {
				a, b = b, a
			}
			return timedelta{a.UnixMicro() - b.UnixMicro()}, nil
		}
	}
	return nil, nil
}

func makeDatetime(y, m, d, h, mi, s, us int) (starlark.Value, error) {
	if m < 1 || m > 12 || d < 1 || d > daysIn(y, m) || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59 || us < 0 || us > 999999 || y < 1 || y > 9999 {
		return nil, python.Errorf("ValueError", "datetime component out of range")
	}
	return datetime{time.Date(y, time.Month(m), d, h, mi, s, us*1000, time.UTC)}, nil
}

func daysIn(y, m int) int { return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day() }

// ---- date ----

type date struct{ t time.Time } // midnight UTC

var (
	_ starlark.HasBinary  = date{}
	_ starlark.Comparable = date{}
	_ starlark.HasAttrs   = date{}
)

func dateOf(t time.Time) date {
	y, m, d := t.Date()
	return date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// PyFormat is format(d, spec) and f"{d:spec}": the spec is strftime's.
func (d date) PyFormat(spec string) string { return strftime(d.t, spec, false) }

var _ python.Formatter = date{}

func (d date) Type() string          { return "date" }
func (d date) Freeze()               {}
func (d date) Truth() starlark.Bool  { return true }
func (d date) Hash() (uint32, error) { return uint32(d.t.Unix() / 86400), nil }
func (d date) String() string        { return d.t.Format("2006-01-02") }

func (d date) Attr(name string) (starlark.Value, error) {
	t := d.t
	switch name {
	case "year":
		return starlark.MakeInt(t.Year()), nil
	case "month":
		return starlark.MakeInt(int(t.Month())), nil
	case "day":
		return starlark.MakeInt(t.Day()), nil
	case "isoformat":
		return noArgs(name, func() starlark.Value { return starlark.String(d.String()) }), nil
	case "weekday":
		return noArgs(name, func() starlark.Value { return starlark.MakeInt((int(t.Weekday()) + 6) % 7) }), nil
	case "isoweekday":
		return noArgs(name, func() starlark.Value { return starlark.MakeInt((int(t.Weekday())+6)%7 + 1) }), nil
	case "strftime":
		return method(name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			var f string
			if err := starlark.UnpackArgs(b.Name(), args, kw, "format", &f); err != nil {
				return nil, err
			}
			return starlark.String(strftime(t, f, false)), nil
		}), nil
	}
	return nil, nil
}

func (d date) AttrNames() []string {
	return []string{"day", "isoformat", "isoweekday", "month", "strftime", "weekday", "year"}
}

func (d date) CompareSameType(op syntax.Token, y starlark.Value, _ int) (bool, error) {
	return compareInts(op, int64(d.t.Compare(y.(date).t)), 0), nil
}

func (d date) Binary(op syntax.Token, y starlark.Value, side starlark.Side) (starlark.Value, error) {
	switch y := y.(type) {
	case timedelta:
		days := y.us / usPerDay // Python ignores the sub-day part
		switch {
		case op == syntax.PLUS:
			return date{d.t.AddDate(0, 0, int(days))}, nil
		case op == syntax.MINUS && side == starlark.Left:
			return date{d.t.AddDate(0, 0, -int(days))}, nil
		}
	case date:
		if op == syntax.MINUS {
			a, b := d.t, y.t
			if side == starlark.Right {
				a, b = b, a
			}
			return timedelta{a.UnixMicro() - b.UnixMicro()}, nil
		}
	}
	return nil, nil
}

// ---- timezone ----

type timezone struct{}

var utcZone = timezone{}

func (timezone) Type() string          { return "timezone" }
func (timezone) Freeze()               {}
func (timezone) Truth() starlark.Bool  { return true }
func (timezone) Hash() (uint32, error) { return 0, nil }
func (timezone) String() string        { return "UTC" }

// ---- strftime ----

// strftime formats t with Python/C strftime directives (C locale).
func strftime(t time.Time, f string, withTime bool) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' || i+1 >= len(f) {
			b.WriteByte(c)
			continue
		}
		i++
		switch f[i] {
		case 'a':
			b.WriteString(t.Weekday().String()[:3])
		case 'A':
			b.WriteString(t.Weekday().String())
		case 'w':
			b.WriteString(strconv.Itoa(int(t.Weekday())))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'e':
			fmt.Fprintf(&b, "%2d", t.Day())
		case 'b', 'h':
			b.WriteString(t.Month().String()[:3])
		case 'B':
			b.WriteString(t.Month().String())
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'I':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			fmt.Fprintf(&b, "%02d", h)
		case 'p':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'f':
			fmt.Fprintf(&b, "%06d", t.Nanosecond()/1000)
		case 'z':
			if withTime {
				b.WriteString("+0000")
			}
		case 'Z':
			if withTime {
				b.WriteString("UTC")
			}
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'U':
			fmt.Fprintf(&b, "%02d", (t.YearDay()-1+7-int(t.Weekday()))/7)
		case 'W':
			fmt.Fprintf(&b, "%02d", (t.YearDay()-1+7-(int(t.Weekday())+6)%7)/7)
		case 'c':
			b.WriteString(t.Format("Mon Jan _2 15:04:05 2006"))
		case 'x':
			b.WriteString(t.Format("01/02/06"))
		case 'X':
			b.WriteString(t.Format("15:04:05"))
		case 'G', 'V', 'u':
			y, w := t.ISOWeek()
			switch f[i] {
			case 'G':
				fmt.Fprintf(&b, "%04d", y)
			case 'V':
				fmt.Fprintf(&b, "%02d", w)
			default:
				fmt.Fprintf(&b, "%d", (int(t.Weekday())+6)%7+1)
			}
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(f[i])
		}
	}
	return b.String()
}

// strptimeLayout converts Python strptime directives into a Go time layout.
func strptimeLayout(f string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(f) {
			return "", fmt.Errorf("stray %% in format %q", f)
		}
		i++
		l, ok := map[byte]string{'Y': "2006", 'm': "01", 'd': "02", 'H': "15", 'M': "04", 'S': "05", 'y': "06",
			'b': "Jan", 'B': "January", 'a': "Mon", 'A': "Monday", 'p': "PM", 'I': "03", 'z': "-0700",
			'Z': "MST", 'f': "000000", 'j': "002", '%': "%"}[f[i]]
		if !ok {
			return "", fmt.Errorf("unsupported strptime directive %%%c", f[i])
		}
		b.WriteString(l)
	}
	return b.String(), nil
}

// timedeltaParams are timedelta()'s parameters in positional order, with
// their size in microseconds.
var timedeltaParams = [...]struct {
	name string
	us   int64
}{{"days", usPerDay}, {"seconds", usPerSecond}, {"microseconds", 1}, {"milliseconds", 1000},
	{"minutes", 60 * usPerSecond}, {"hours", 3600 * usPerSecond}, {"weeks", 7 * usPerDay}}

// newTimedelta implements datetime.timedelta(days=0, seconds=0,
// microseconds=0, milliseconds=0, minutes=0, hours=0, weeks=0).
func newTimedelta(args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
	if len(args) > len(timedeltaParams) {
		return nil, python.Errorf("TypeError", "timedelta() takes at most 7 arguments (%d given)", len(args))
	}
	var vals [len(timedeltaParams)]starlark.Value
	copy(vals[:], args)
	for _, kv := range kw {
		name := string(kv[0].(starlark.String))
		i := -1
		for j, p := range timedeltaParams {
			if p.name == name {
				i = j
				break
			}
		}
		if i < 0 {
			return nil, python.Errorf("TypeError", "timedelta() got an unexpected keyword argument %q", name)
		}
		if vals[i] != nil {
			return nil, python.Errorf("TypeError", "timedelta() got multiple values for argument %q", name)
		}
		vals[i] = kv[1]
	}
	exact, total, allInt := int64(0), 0.0, true
	for i, v := range vals {
		p := timedeltaParams[i]
		switch v := v.(type) {
		case nil:
		case starlark.Int:
			n, ok := v.Int64()
			if !ok || n > math.MaxInt64/p.us || n < math.MinInt64/p.us {
				return nil, python.Errorf("OverflowError", "timedelta %s out of range", p.name)
			}
			exact += n * p.us
			total += float64(n * p.us)
		case starlark.Float:
			allInt = false
			total += float64(v) * float64(p.us)
		default:
			return nil, python.Errorf("TypeError", "timedelta: %s must be a number, not %s", p.name, v.Type())
		}
	}
	if allInt {
		return timedelta{exact}, nil
	}
	if math.IsNaN(total) || math.Abs(total) > 9e18 {
		return nil, python.Errorf("OverflowError", "timedelta out of range")
	}
	return timedelta{roundHalfEven(total)}, nil
}

// ---- the module ----

var datetimeModule = newDatetimeModule()

func newDatetimeModule() *starlarkstruct.Module {
	td := &class{name: "timedelta", call: func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
		return newTimedelta(args, kw)
	}}
	dt := &class{name: "datetime", call: func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
		var y, m, d, h, mi, s, us int
		var tz starlark.Value
		if err := starlark.UnpackArgs("datetime", args, kw, "year", &y, "month", &m, "day", &d, "hour?", &h,
			"minute?", &mi, "second?", &s, "microsecond?", &us, "tzinfo?", &tz); err != nil {
			return nil, err
		}
		return makeDatetime(y, m, d, h, mi, s, us)
	}}
	now := func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
		var tz starlark.Value
		if err := starlark.UnpackArgs(b.Name(), args, kw, "tz?", &tz); err != nil {
			return nil, err
		}
		return timeValue(stateOf(th).clock()), nil
	}
	dt.attrs = starlark.StringDict{
		"now":    starlark.NewBuiltin("now", now),
		"utcnow": starlark.NewBuiltin("utcnow", now),
		"today":  starlark.NewBuiltin("today", now),
		"fromisoformat": starlark.NewBuiltin("fromisoformat", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			var s string
			if err := starlark.UnpackArgs(b.Name(), args, kw, "date_string", &s); err != nil {
				return nil, err
			}
			for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00",
				"2006-01-02 15:04:05.999999999", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
				if t, err := time.Parse(layout, s); err == nil {
					return timeValue(t), nil
				}
			}
			return nil, python.Errorf("ValueError", "Invalid isoformat string: %q", s)
		}),
		"fromtimestamp": starlark.NewBuiltin("fromtimestamp", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			var tsv, tz starlark.Value
			if err := starlark.UnpackArgs(b.Name(), args, kw, "timestamp", &tsv, "tz?", &tz); err != nil {
				return nil, err
			}
			ts, ok := starlark.AsFloat(tsv)
			if !ok || math.IsNaN(ts) || math.Abs(ts) > 1e11 {
				return nil, python.Errorf("ValueError", "invalid timestamp %s", tsv)
			}
			return timeValue(time.UnixMicro(int64(math.Round(ts * 1e6)))), nil
		}),
		"strptime": starlark.NewBuiltin("strptime", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			var s, f string
			if err := starlark.UnpackArgs(b.Name(), args, kw, "date_string", &s, "format", &f); err != nil {
				return nil, err
			}
			layout, err := strptimeLayout(f)
			if err != nil {
				return nil, python.Errorf("ValueError", "%v", err)
			}
			t, err := time.Parse(layout, s)
			if err != nil {
				return nil, python.Errorf("ValueError", "time data %q does not match format %q", s, f)
			}
			return timeValue(t), nil
		}),
	}
	dc := &class{name: "date", call: func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
		var y, m, d int
		if err := starlark.UnpackArgs("date", args, kw, "year", &y, "month", &m, "day", &d); err != nil {
			return nil, err
		}
		if m < 1 || m > 12 || d < 1 || d > daysIn(y, m) || y < 1 || y > 9999 {
			return nil, python.Errorf("ValueError", "date component out of range")
		}
		return date{time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)}, nil
	}}
	dc.attrs = starlark.StringDict{
		"today": starlark.NewBuiltin("today", func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackArgs(b.Name(), args, kw); err != nil {
				return nil, err
			}
			return dateOf(stateOf(th).clock().UTC()), nil
		}),
	}
	tzClass := &class{name: "timezone", attrs: starlark.StringDict{"utc": utcZone}}
	m := &starlarkstruct.Module{Name: "datetime", Members: starlark.StringDict{
		"timedelta": td,
		"datetime":  dt,
		"date":      dc,
		"timezone":  tzClass,
		"MINYEAR":   starlark.MakeInt(1),
		"MAXYEAR":   starlark.MakeInt(9999),
	}}
	m.Freeze()
	return m
}

// class is a callable value with attributes, standing in for a Python class
// such as datetime.datetime (callable, with datetime.datetime.now()).
type class struct {
	name  string
	call  func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error)
	attrs starlark.StringDict
}

var (
	_ starlark.Callable = (*class)(nil)
	_ starlark.HasAttrs = (*class)(nil)
)

func (c *class) Type() string          { return "type" }
func (c *class) Freeze()               {}
func (c *class) Truth() starlark.Bool  { return true }
func (c *class) Hash() (uint32, error) { return starlark.String(c.name).Hash() }
func (c *class) String() string        { return "<class '" + c.name + "'>" }
func (c *class) Name() string          { return c.name }
func (c *class) Attr(name string) (starlark.Value, error) {
	return c.attrs[name], nil
}
func (c *class) AttrNames() []string { return c.attrs.Keys() }
func (c *class) CallInternal(th *starlark.Thread, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
	if c.call == nil {
		return nil, python.Errorf("TypeError", "cannot create '%s' instances", c.name)
	}
	return c.call(th, nil, args, kw)
}

// method wraps fn as a builtin method value.
func method(name string, fn func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error)) *starlark.Builtin {
	return starlark.NewBuiltin(name, fn)
}

// noArgs is a method that takes no arguments and returns f().
func noArgs(name string, f func() starlark.Value) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackArgs(b.Name(), args, kw); err != nil {
			return nil, err
		}
		return f(), nil
	})
}
