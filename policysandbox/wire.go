package policysandbox

import (
	"encoding"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
)

// wire is a compact binary encoding of one Go type (policy.Input), derived from the type by
// reflection once, so that a field added to the type travels without changes here. Decoding
// it costs a fraction of decoding JSON, which dominated a worker's time per block.
//
// Values mean what they meant when the input travelled as JSON: fields tagged json:"-" and
// unexported fields are not sent; a type with its own JSON or text encoding is sent as its
// JSON; a value inside an interface (the JSON-like maps of an input) arrives as
// encoding/json would decode it into an interface (integers as float64), except that a
// json.Number stays one and strings keep their bytes where JSON would replace invalid
// UTF-8: in both cases the worker sees what the in-process runtime would.
//
// Decoding is bounded by its input: every length is checked against the bytes left, and
// values inside interfaces nest at most maxWireDepth deep (encoding refuses deeper ones,
// which also stops a cyclic map).
type wire struct {
	enc encFunc
	dec decFunc
}

type (
	encFunc func(b []byte, v reflect.Value, depth int) ([]byte, error)
	decFunc func(d *wireDecoder, v reflect.Value, depth int) error
)

const maxWireDepth = 1000

var errWireDepth = errors.New("values nested too deep")

// newWire builds the encoding of t.
func newWire(t reflect.Type) *wire {
	b := &wireBuilder{done: make(map[reflect.Type]*wire)}
	return b.build(t)
}

// encode appends the encoding of v (a value of the wire's type) to b.
func (w *wire) encode(b []byte, v any) ([]byte, error) {
	return w.enc(b, reflect.ValueOf(v), 0)
}

// decode decodes data into ptr (a pointer to a value of the wire's type). strs, if not nil,
// supplies short strings seen before instead of new copies; it is not safe for concurrent
// use.
func (w *wire) decode(data []byte, ptr any, strs *interner) error {
	d := &wireDecoder{b: data, strs: strs}
	if err := w.dec(d, reflect.ValueOf(ptr).Elem(), 0); err != nil {
		return err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%d bytes after the value", len(d.b))
	}
	return nil
}

type wireBuilder struct {
	done map[reflect.Type]*wire
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	jsonUnmarshal = reflect.TypeFor[json.Unmarshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshal = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func (bld *wireBuilder) build(t reflect.Type) *wire {
	if w, ok := bld.done[t]; ok {
		return w // a recursive type: filled in below before it is used
	}
	w := &wire{}
	bld.done[t] = w
	switch {
	case t == timeType:
		w.enc, w.dec = encTime, decTime
		return w
	case t.Kind() != reflect.Interface && (t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonUnmarshal) ||
		t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textUnmarshal)):
		w.enc, w.dec = encJSON, decJSON
		return w
	}
	switch t.Kind() {
	case reflect.Bool:
		w.enc = func(b []byte, v reflect.Value, _ int) ([]byte, error) {
			if v.Bool() {
				return append(b, 1), nil
			}
			return append(b, 0), nil
		}
		w.dec = func(d *wireDecoder, v reflect.Value, _ int) error {
			x, err := d.byte()
			v.SetBool(x != 0)
			return err
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		w.enc = func(b []byte, v reflect.Value, _ int) ([]byte, error) { return binary.AppendVarint(b, v.Int()), nil }
		w.dec = func(d *wireDecoder, v reflect.Value, _ int) error {
			x, err := d.varint()
			v.SetInt(x)
			return err
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		w.enc = func(b []byte, v reflect.Value, _ int) ([]byte, error) { return binary.AppendUvarint(b, v.Uint()), nil }
		w.dec = func(d *wireDecoder, v reflect.Value, _ int) error {
			x, err := d.uvarint()
			v.SetUint(x)
			return err
		}
	case reflect.Float32, reflect.Float64:
		w.enc = func(b []byte, v reflect.Value, _ int) ([]byte, error) {
			return binary.BigEndian.AppendUint64(b, math.Float64bits(v.Float())), nil
		}
		w.dec = func(d *wireDecoder, v reflect.Value, _ int) error {
			x, err := d.float()
			v.SetFloat(x)
			return err
		}
	case reflect.String:
		w.enc = func(b []byte, v reflect.Value, _ int) ([]byte, error) { return appendString(b, v.String()), nil }
		w.dec = func(d *wireDecoder, v reflect.Value, _ int) error {
			s, err := d.string()
			v.SetString(s)
			return err
		}
	case reflect.Pointer:
		bld.pointer(w, t)
	case reflect.Slice:
		bld.slice(w, t)
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			w.enc, w.dec = encJSON, decJSON
			break
		}
		bld.stringMap(w, t)
	case reflect.Struct:
		bld.structure(w, t)
	case reflect.Interface:
		w.enc, w.dec = encAny, decAny
	default:
		w.enc, w.dec = encJSON, decJSON
	}
	return w
}

func (bld *wireBuilder) pointer(w *wire, t reflect.Type) {
	elem := bld.build(t.Elem())
	w.enc = func(b []byte, v reflect.Value, depth int) ([]byte, error) {
		if v.IsNil() {
			return append(b, 0), nil
		}
		return elem.enc(append(b, 1), v.Elem(), depth)
	}
	w.dec = func(d *wireDecoder, v reflect.Value, depth int) error {
		x, err := d.byte()
		if err != nil || x == 0 {
			return err
		}
		p := reflect.New(t.Elem())
		if err := elem.dec(d, p.Elem(), depth); err != nil {
			return err
		}
		v.Set(p)
		return nil
	}
}

// Slices and maps: 0 for nil, else the length plus one.
func (bld *wireBuilder) slice(w *wire, t reflect.Type) {
	elem := bld.build(t.Elem())
	w.enc = func(b []byte, v reflect.Value, depth int) ([]byte, error) {
		if v.IsNil() {
			return append(b, 0), nil
		}
		b = binary.AppendUvarint(b, uint64(v.Len())+1)
		var err error
		for i := range v.Len() {
			if b, err = elem.enc(b, v.Index(i), depth); err != nil {
				return b, err
			}
		}
		return b, nil
	}
	w.dec = func(d *wireDecoder, v reflect.Value, depth int) error {
		n, isNil, err := d.length()
		if err != nil || isNil {
			return err
		}
		s := reflect.MakeSlice(t, n, n)
		for i := range n {
			if err := elem.dec(d, s.Index(i), depth); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	}
}

func (bld *wireBuilder) stringMap(w *wire, t reflect.Type) {
	elem := bld.build(t.Elem())
	w.enc = func(b []byte, v reflect.Value, depth int) ([]byte, error) {
		if v.IsNil() {
			return append(b, 0), nil
		}
		b = binary.AppendUvarint(b, uint64(v.Len())+1)
		var err error
		for it := v.MapRange(); it.Next(); {
			b = appendString(b, it.Key().String())
			if b, err = elem.enc(b, it.Value(), depth); err != nil {
				return b, err
			}
		}
		return b, nil
	}
	w.dec = func(d *wireDecoder, v reflect.Value, depth int) error {
		n, isNil, err := d.length()
		if err != nil || isNil {
			return err
		}
		m := reflect.MakeMapWithSize(t, n)
		key := reflect.New(t.Key()).Elem()
		val := reflect.New(t.Elem()).Elem()
		for range n {
			s, err := d.string()
			if err != nil {
				return err
			}
			key.SetString(s)
			val.SetZero()
			if err := elem.dec(d, val, depth); err != nil {
				return err
			}
			m.SetMapIndex(key, val)
		}
		v.Set(m)
		return nil
	}
}

func (bld *wireBuilder) structure(w *wire, t reflect.Type) {
	type field struct {
		index int
		w     *wire
	}
	var fields []field
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || strings.Split(f.Tag.Get("json"), ",")[0] == "-" {
			continue
		}
		fields = append(fields, field{i, bld.build(f.Type)})
	}
	w.enc = func(b []byte, v reflect.Value, depth int) ([]byte, error) {
		var err error
		for _, f := range fields {
			if b, err = f.w.enc(b, v.Field(f.index), depth); err != nil {
				return b, err
			}
		}
		return b, nil
	}
	w.dec = func(d *wireDecoder, v reflect.Value, depth int) error {
		for _, f := range fields {
			if err := f.w.dec(d, v.Field(f.index), depth); err != nil {
				return err
			}
		}
		return nil
	}
}

func encTime(b []byte, v reflect.Value, _ int) ([]byte, error) {
	t := v.Interface().(time.Time)
	n := len(b)
	b = append(b, 0) // length, below
	b, err := t.AppendBinary(b)
	if err != nil {
		return b, err
	}
	if len(b)-n-1 > 255 {
		return b, errors.New("time encoding too long")
	}
	b[n] = byte(len(b) - n - 1)
	return b, nil
}

func decTime(d *wireDecoder, v reflect.Value, _ int) error {
	n, err := d.byte()
	if err != nil {
		return err
	}
	raw, err := d.bytes(int(n))
	if err != nil {
		return err
	}
	var t time.Time
	if err := t.UnmarshalBinary(raw); err != nil {
		return err
	}
	v.Set(reflect.ValueOf(t))
	return nil
}

// encJSON and decJSON carry a value as its JSON, for types whose JSON is their meaning.
func encJSON(b []byte, v reflect.Value, _ int) ([]byte, error) {
	j, err := json.Marshal(v.Interface())
	if err != nil {
		return b, err
	}
	return appendString(b, string(j)), nil
}

func decJSON(d *wireDecoder, v reflect.Value, _ int) error {
	n, err := d.uvarint()
	if err != nil {
		return err
	}
	raw, err := d.bytes(int(min(n, math.MaxInt32)))
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v.Addr().Interface())
}

// Tags of a value inside an interface: the types encoding/json decodes into one.
const (
	tagNil byte = iota
	tagFalse
	tagTrue
	tagFloat
	tagString
	tagNumber // json.Number
	tagArray  // []any
	tagObject // map[string]any
	tagJSON   // anything else, as its JSON
)

func encAny(b []byte, v reflect.Value, depth int) ([]byte, error) {
	if v.IsNil() {
		return append(b, tagNil), nil
	}
	return appendAny(b, v.Elem().Interface(), depth)
}

func appendAny(b []byte, x any, depth int) ([]byte, error) {
	if depth > maxWireDepth {
		return b, errWireDepth
	}
	var err error
	switch x := x.(type) {
	case nil:
		return append(b, tagNil), nil
	case bool:
		if x {
			return append(b, tagTrue), nil
		}
		return append(b, tagFalse), nil
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return b, fmt.Errorf("unsupported number %v", x)
		}
		return binary.BigEndian.AppendUint64(append(b, tagFloat), math.Float64bits(x)), nil
	case int: // what JSON makes of it: the nearest float64
		return binary.BigEndian.AppendUint64(append(b, tagFloat), math.Float64bits(float64(x))), nil
	case int64:
		return binary.BigEndian.AppendUint64(append(b, tagFloat), math.Float64bits(float64(x))), nil
	case string:
		return appendString(append(b, tagString), x), nil
	case json.Number:
		if _, err := x.Float64(); err != nil && x != "" {
			return b, fmt.Errorf("invalid number %q", string(x))
		}
		return appendString(append(b, tagNumber), string(x)), nil
	case []any:
		if x == nil {
			return append(b, tagNil), nil
		}
		b = binary.AppendUvarint(append(b, tagArray), uint64(len(x)))
		for _, e := range x {
			if b, err = appendAny(b, e, depth+1); err != nil {
				return b, err
			}
		}
		return b, nil
	case map[string]any:
		if x == nil {
			return append(b, tagNil), nil
		}
		b = binary.AppendUvarint(append(b, tagObject), uint64(len(x)))
		for k, e := range x {
			b = appendString(b, k)
			if b, err = appendAny(b, e, depth+1); err != nil {
				return b, err
			}
		}
		return b, nil
	}
	j, err := json.Marshal(x)
	if err != nil {
		return b, err
	}
	return appendString(append(b, tagJSON), string(j)), nil
}

func decAny(d *wireDecoder, v reflect.Value, depth int) error {
	x, err := d.any(depth)
	if err != nil {
		return err
	}
	if x != nil {
		v.Set(reflect.ValueOf(x))
	}
	return nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// wireDecoder reads a wire encoding; every length is checked against what is left.
type wireDecoder struct {
	b    []byte
	strs *interner
}

// interner keeps short strings a worker decodes again and again (platform names, user
// names, roles, status words), saving an allocation each. It is bounded: when full it
// starts afresh.
type interner struct {
	m map[string]string
}

const (
	internMaxLen     = 64
	internMaxEntries = 4096
)

func newInterner() *interner { return &interner{m: make(map[string]string)} }

func (t *interner) get(b []byte) string {
	if s, ok := t.m[string(b)]; ok { // no allocation for the lookup
		return s
	}
	if len(t.m) >= internMaxEntries {
		clear(t.m)
	}
	s := string(b)
	t.m[s] = s
	return s
}

var errWireShort = errors.New("truncated value")

func (d *wireDecoder) byte() (byte, error) {
	if len(d.b) == 0 {
		return 0, errWireShort
	}
	x := d.b[0]
	d.b = d.b[1:]
	return x, nil
}

func (d *wireDecoder) bytes(n int) ([]byte, error) {
	if n < 0 || n > len(d.b) {
		return nil, errWireShort
	}
	x := d.b[:n:n]
	d.b = d.b[n:]
	return x, nil
}

func (d *wireDecoder) uvarint() (uint64, error) {
	x, n := binary.Uvarint(d.b)
	if n <= 0 {
		return 0, errWireShort
	}
	d.b = d.b[n:]
	return x, nil
}

func (d *wireDecoder) varint() (int64, error) {
	x, n := binary.Varint(d.b)
	if n <= 0 {
		return 0, errWireShort
	}
	d.b = d.b[n:]
	return x, nil
}

func (d *wireDecoder) float() (float64, error) {
	raw, err := d.bytes(8)
	if err != nil {
		return 0, err
	}
	return math.Float64frombits(binary.BigEndian.Uint64(raw)), nil
}

func (d *wireDecoder) string() (string, error) {
	n, err := d.uvarint()
	if err != nil {
		return "", err
	}
	raw, err := d.bytes(int(min(n, math.MaxInt32)))
	if err != nil {
		return "", err
	}
	if d.strs != nil && len(raw) <= internMaxLen {
		return d.strs.get(raw), nil
	}
	return string(raw), nil
}

// length reads the length of a slice or map: every element takes at least one byte.
func (d *wireDecoder) length() (n int, isNil bool, err error) {
	x, err := d.uvarint()
	if err != nil || x == 0 {
		return 0, true, err
	}
	if x-1 > uint64(len(d.b)) {
		return 0, false, errWireShort
	}
	return int(x - 1), false, nil
}

func (d *wireDecoder) any(depth int) (any, error) {
	if depth > maxWireDepth {
		return nil, errWireDepth
	}
	tag, err := d.byte()
	if err != nil {
		return nil, err
	}
	switch tag {
	case tagNil:
		return nil, nil
	case tagFalse:
		return false, nil
	case tagTrue:
		return true, nil
	case tagFloat:
		return d.float()
	case tagString:
		return d.string()
	case tagNumber:
		s, err := d.string()
		return json.Number(s), err
	case tagArray:
		n, err := d.uvarint()
		if err != nil || n > uint64(len(d.b)) {
			return nil, errWireShort
		}
		a := make([]any, n)
		for i := range a {
			if a[i], err = d.any(depth + 1); err != nil {
				return nil, err
			}
		}
		return a, nil
	case tagObject:
		n, err := d.uvarint()
		if err != nil || n > uint64(len(d.b)) {
			return nil, errWireShort
		}
		m := make(map[string]any, n)
		for range n {
			k, err := d.string()
			if err != nil {
				return nil, err
			}
			if m[k], err = d.any(depth + 1); err != nil {
				return nil, err
			}
		}
		return m, nil
	case tagJSON:
		s, err := d.string()
		if err != nil {
			return nil, err
		}
		var x any
		if err := json.Unmarshal([]byte(s), &x); err != nil {
			return nil, err
		}
		return x, nil
	}
	return nil, fmt.Errorf("unknown value tag %d", tag)
}
