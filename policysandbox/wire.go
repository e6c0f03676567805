package policysandbox

import (
	"encoding"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"
	"unsafe"
)

// wire is a compact binary encoding of one Go type T (policy.Input, policy.Output), derived
// from the type by reflection once, so that a field added to the type travels without
// changes here. Decoding it costs a fraction of decoding JSON, which dominated a worker's
// time per block.
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
type wire[T any] struct {
	c *codec
}

// codec encodes and decodes the value of one type at an address. The functions are
// derived from the type once and then read and write memory by offset: going through
// reflect.Value for every field cost as much as the evaluation itself, mostly in the
// copies reflect makes of map keys and values and of a value handed over as an interface.
type codec struct {
	enc encFunc
	dec decFunc
	// eq reports whether the values at two addresses have the same encoding, when it can
	// tell cheaply; nil for the types it cannot (maps, interfaces, times, JSON).
	eq eqFunc
	// clone copies the value at src to dst (which holds the zero value), the parts a
	// caller could change in place (slices, pointed-to values) copied too and strings
	// shared; nil for the types eq cannot compare.
	clone cloneFunc
}

type (
	encFunc   func(b []byte, p unsafe.Pointer, depth int) ([]byte, error)
	decFunc   func(d *wireDecoder, p unsafe.Pointer, depth int) error
	eqFunc    func(p, q unsafe.Pointer) bool
	cloneFunc func(dst, src unsafe.Pointer) bool
)

const maxWireDepth = 1000

var errWireDepth = errors.New("values nested too deep")

// newWire builds the encoding of T.
func newWire[T any]() *wire[T] {
	return &wire[T]{c: newCodec(reflect.TypeFor[T]())}
}

// newCodec builds the encoding of t.
func newCodec(t reflect.Type) *codec {
	b := &wireBuilder{done: make(map[reflect.Type]*codec)}
	return b.build(t)
}

// encode appends the encoding of *v to b.
func (w *wire[T]) encode(b []byte, v *T) ([]byte, error) {
	return w.c.enc(b, unsafe.Pointer(v), 0)
}

// decode decodes data into *v, which must hold T's zero value. strs, if not nil, supplies
// short strings seen before instead of new copies; it is not safe for concurrent use.
func (w *wire[T]) decode(data []byte, v *T, strs *interner) error {
	return w.c.decode(data, unsafe.Pointer(v), strs)
}

// same reports whether *v and *u certainly have the same encoding: false when they differ
// or when their type holds values that it does not compare.
func (w *wire[T]) same(v, u *T) bool {
	return w.c.same(unsafe.Pointer(v), unsafe.Pointer(u))
}

func (c *codec) same(p, q unsafe.Pointer) bool {
	return c.eq != nil && c.eq(p, q)
}

// copyOf sets *dst, which must hold T's zero value, to a copy of *src that no change to
// *src in place can reach, and reports whether it could (see codec.clone).
func (w *wire[T]) copyOf(dst, src *T) bool {
	return w.c.copyOf(unsafe.Pointer(dst), unsafe.Pointer(src))
}

func (c *codec) copyOf(dst, src unsafe.Pointer) bool {
	return c.clone != nil && c.clone(dst, src)
}

// decodeCopy decodes data into *v, which must hold T's zero value, its strings all
// sharing one copy of data: one allocation instead of one per string (or a lookup per
// string in an interner), but any of them keeps the whole copy alive.
func (w *wire[T]) decodeCopy(data []byte, v *T) error {
	d := &wireDecoder{b: data, src: string(data)}
	return w.c.decodeWith(d, unsafe.Pointer(v))
}

// decodeString decodes data into *v, which must hold T's zero value, its strings cut from
// data.
func (w *wire[T]) decodeString(data string, v *T) error {
	// The decoder only reads its bytes.
	d := &wireDecoder{b: unsafe.Slice(unsafe.StringData(data), len(data)), src: data}
	return w.c.decodeWith(d, unsafe.Pointer(v))
}

func (c *codec) decode(data []byte, p unsafe.Pointer, strs *interner) error {
	return c.decodeWith(&wireDecoder{b: data, strs: strs}, p)
}

func (c *codec) decodeWith(d *wireDecoder, p unsafe.Pointer) error {
	if err := c.dec(d, p, 0); err != nil {
		return err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%d bytes after the value", len(d.b))
	}
	return nil
}

type wireBuilder struct {
	done map[reflect.Type]*codec
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	anyMapType    = reflect.TypeFor[map[string]any]()
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	jsonUnmarshal = reflect.TypeFor[json.Unmarshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshal = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// sliceHeader is the memory layout of every slice.
type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}

func (bld *wireBuilder) build(t reflect.Type) *codec {
	if c, ok := bld.done[t]; ok {
		return c // a recursive type: filled in below before it is used
	}
	c := &codec{}
	bld.done[t] = c
	switch {
	case t == timeType:
		c.enc, c.dec = encTime, decTime
		return c
	case t.Kind() != reflect.Interface && (t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonUnmarshal) ||
		t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textUnmarshal)):
		bld.json(c, t)
		return c
	}
	switch t.Kind() {
	case reflect.Bool:
		c.enc = func(b []byte, p unsafe.Pointer, _ int) ([]byte, error) {
			if *(*bool)(p) {
				return append(b, 1), nil
			}
			return append(b, 0), nil
		}
		c.dec = func(d *wireDecoder, p unsafe.Pointer, _ int) error {
			x, err := d.byte()
			*(*bool)(p) = x != 0
			return err
		}
		c.eq = func(p, q unsafe.Pointer) bool { return *(*bool)(p) == *(*bool)(q) }
		c.clone = func(dst, src unsafe.Pointer) bool { *(*bool)(dst) = *(*bool)(src); return true }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		get, set := intAccess(t)
		c.enc = func(b []byte, p unsafe.Pointer, _ int) ([]byte, error) { return binary.AppendVarint(b, get(p)), nil }
		c.dec = func(d *wireDecoder, p unsafe.Pointer, _ int) error {
			x, err := d.varint()
			set(p, x)
			return err
		}
		c.eq = func(p, q unsafe.Pointer) bool { return get(p) == get(q) }
		c.clone = func(dst, src unsafe.Pointer) bool { set(dst, get(src)); return true }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		get, set := uintAccess(t)
		c.enc = func(b []byte, p unsafe.Pointer, _ int) ([]byte, error) { return binary.AppendUvarint(b, get(p)), nil }
		c.dec = func(d *wireDecoder, p unsafe.Pointer, _ int) error {
			x, err := d.uvarint()
			set(p, x)
			return err
		}
		c.eq = func(p, q unsafe.Pointer) bool { return get(p) == get(q) }
		c.clone = func(dst, src unsafe.Pointer) bool { set(dst, get(src)); return true }
	case reflect.Float32:
		c.enc = func(b []byte, p unsafe.Pointer, _ int) ([]byte, error) {
			return binary.BigEndian.AppendUint64(b, math.Float64bits(float64(*(*float32)(p)))), nil
		}
		c.dec = func(d *wireDecoder, p unsafe.Pointer, _ int) error {
			x, err := d.float()
			*(*float32)(p) = float32(x)
			return err
		}
		c.eq = func(p, q unsafe.Pointer) bool {
			return math.Float32bits(*(*float32)(p)) == math.Float32bits(*(*float32)(q))
		}
		c.clone = func(dst, src unsafe.Pointer) bool { *(*float32)(dst) = *(*float32)(src); return true }
	case reflect.Float64:
		c.enc = func(b []byte, p unsafe.Pointer, _ int) ([]byte, error) {
			return binary.BigEndian.AppendUint64(b, math.Float64bits(*(*float64)(p))), nil
		}
		c.dec = func(d *wireDecoder, p unsafe.Pointer, _ int) error {
			x, err := d.float()
			*(*float64)(p) = x
			return err
		}
		c.eq = func(p, q unsafe.Pointer) bool {
			return math.Float64bits(*(*float64)(p)) == math.Float64bits(*(*float64)(q))
		}
		c.clone = func(dst, src unsafe.Pointer) bool { *(*float64)(dst) = *(*float64)(src); return true }
	case reflect.String:
		c.enc, c.dec = encString, decString
		c.eq = func(p, q unsafe.Pointer) bool { return *(*string)(p) == *(*string)(q) }
		c.clone = func(dst, src unsafe.Pointer) bool { *(*string)(dst) = *(*string)(src); return true }
	case reflect.Pointer:
		bld.pointer(c, t)
	case reflect.Slice:
		bld.slice(c, t)
	case reflect.Map:
		switch {
		case t == anyMapType:
			c.enc, c.dec = encAnyMap, decAnyMap
		case t.Key().Kind() == reflect.String:
			bld.stringMap(c, t)
		default:
			bld.json(c, t)
		}
	case reflect.Struct:
		bld.structure(c, t)
	case reflect.Interface:
		if t.NumMethod() == 0 {
			c.enc, c.dec = encAny, decAny
		} else {
			bld.iface(c, t)
		}
	default:
		bld.json(c, t)
	}
	return c
}

// intAccess returns how to read and write a signed integer of type t at an address.
func intAccess(t reflect.Type) (get func(unsafe.Pointer) int64, set func(unsafe.Pointer, int64)) {
	switch t.Size() {
	case 1:
		return func(p unsafe.Pointer) int64 { return int64(*(*int8)(p)) }, func(p unsafe.Pointer, x int64) { *(*int8)(p) = int8(x) }
	case 2:
		return func(p unsafe.Pointer) int64 { return int64(*(*int16)(p)) }, func(p unsafe.Pointer, x int64) { *(*int16)(p) = int16(x) }
	case 4:
		return func(p unsafe.Pointer) int64 { return int64(*(*int32)(p)) }, func(p unsafe.Pointer, x int64) { *(*int32)(p) = int32(x) }
	}
	return func(p unsafe.Pointer) int64 { return *(*int64)(p) }, func(p unsafe.Pointer, x int64) { *(*int64)(p) = x }
}

// uintAccess returns how to read and write an unsigned integer of type t at an address.
func uintAccess(t reflect.Type) (get func(unsafe.Pointer) uint64, set func(unsafe.Pointer, uint64)) {
	switch t.Size() {
	case 1:
		return func(p unsafe.Pointer) uint64 { return uint64(*(*uint8)(p)) }, func(p unsafe.Pointer, x uint64) { *(*uint8)(p) = uint8(x) }
	case 2:
		return func(p unsafe.Pointer) uint64 { return uint64(*(*uint16)(p)) }, func(p unsafe.Pointer, x uint64) { *(*uint16)(p) = uint16(x) }
	case 4:
		return func(p unsafe.Pointer) uint64 { return uint64(*(*uint32)(p)) }, func(p unsafe.Pointer, x uint64) { *(*uint32)(p) = uint32(x) }
	}
	return func(p unsafe.Pointer) uint64 { return *(*uint64)(p) }, func(p unsafe.Pointer, x uint64) { *(*uint64)(p) = x }
}

func encString(b []byte, p unsafe.Pointer, _ int) ([]byte, error) {
	return appendString(b, *(*string)(p)), nil
}

func decString(d *wireDecoder, p unsafe.Pointer, _ int) error {
	s, err := d.string()
	*(*string)(p) = s
	return err
}

func (bld *wireBuilder) pointer(c *codec, t reflect.Type) {
	elem := bld.build(t.Elem())
	c.enc = func(b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
		q := *(*unsafe.Pointer)(p)
		if q == nil {
			return append(b, 0), nil
		}
		return elem.enc(append(b, 1), q, depth)
	}
	c.dec = func(d *wireDecoder, p unsafe.Pointer, depth int) error {
		x, err := d.byte()
		if err != nil || x == 0 {
			return err
		}
		q := reflect.New(t.Elem()).UnsafePointer()
		if err := elem.dec(d, q, depth); err != nil {
			return err
		}
		*(*unsafe.Pointer)(p) = q
		return nil
	}
	c.eq = func(p, q unsafe.Pointer) bool {
		pp, qq := *(*unsafe.Pointer)(p), *(*unsafe.Pointer)(q)
		if pp == nil || qq == nil {
			return pp == qq
		}
		return elem.same(pp, qq)
	}
	c.clone = func(dst, src unsafe.Pointer) bool {
		q := *(*unsafe.Pointer)(src)
		if q == nil {
			return true
		}
		d := reflect.New(t.Elem()).UnsafePointer()
		if !elem.copyOf(d, q) {
			return false
		}
		*(*unsafe.Pointer)(dst) = d
		return true
	}
}

// Slices and maps: 0 for nil, else the length plus one.
func (bld *wireBuilder) slice(c *codec, t reflect.Type) {
	if t.Elem().Kind() == reflect.String { // []string and the like: no reflection at all
		c.enc = func(b []byte, p unsafe.Pointer, _ int) ([]byte, error) {
			s := *(*[]string)(p)
			if s == nil {
				return append(b, 0), nil
			}
			b = binary.AppendUvarint(b, uint64(len(s))+1)
			for _, x := range s {
				b = appendString(b, x)
			}
			return b, nil
		}
		c.dec = func(d *wireDecoder, p unsafe.Pointer, _ int) error {
			n, isNil, err := d.length()
			if err != nil || isNil {
				return err
			}
			s := make([]string, n)
			for i := range s {
				if s[i], err = d.string(); err != nil {
					return err
				}
			}
			*(*[]string)(p) = s
			return nil
		}
		c.eq = func(p, q unsafe.Pointer) bool {
			a, b := *(*[]string)(p), *(*[]string)(q)
			return (a == nil) == (b == nil) && slices.Equal(a, b)
		}
		c.clone = func(dst, src unsafe.Pointer) bool {
			if s := *(*[]string)(src); s != nil {
				*(*[]string)(dst) = append(make([]string, 0, len(s)), s...)
			}
			return true
		}
		return
	}
	elem := bld.build(t.Elem())
	size := t.Elem().Size()
	c.enc = func(b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
		h := (*sliceHeader)(p)
		if h.data == nil {
			return append(b, 0), nil
		}
		b = binary.AppendUvarint(b, uint64(h.len)+1)
		var err error
		for i := range h.len {
			if b, err = elem.enc(b, unsafe.Add(h.data, uintptr(i)*size), depth); err != nil {
				return b, err
			}
		}
		return b, nil
	}
	c.dec = func(d *wireDecoder, p unsafe.Pointer, depth int) error {
		n, isNil, err := d.length()
		if err != nil || isNil {
			return err
		}
		data := reflect.MakeSlice(t, n, n).UnsafePointer()
		for i := range n {
			if err := elem.dec(d, unsafe.Add(data, uintptr(i)*size), depth); err != nil {
				return err
			}
		}
		*(*sliceHeader)(p) = sliceHeader{data: data, len: n, cap: n}
		return nil
	}
	c.eq = func(p, q unsafe.Pointer) bool {
		a, b := (*sliceHeader)(p), (*sliceHeader)(q)
		if (a.data == nil) != (b.data == nil) || a.len != b.len {
			return false
		}
		for i := range a.len {
			if !elem.same(unsafe.Add(a.data, uintptr(i)*size), unsafe.Add(b.data, uintptr(i)*size)) {
				return false
			}
		}
		return true
	}
	c.clone = func(dst, src unsafe.Pointer) bool {
		h := (*sliceHeader)(src)
		if h.data == nil {
			return true
		}
		data := reflect.MakeSlice(t, h.len, h.len).UnsafePointer()
		for i := range h.len {
			if !elem.copyOf(unsafe.Add(data, uintptr(i)*size), unsafe.Add(h.data, uintptr(i)*size)) {
				return false
			}
		}
		*(*sliceHeader)(dst) = sliceHeader{data: data, len: h.len, cap: h.len}
		return true
	}
}

// stringMap is the encoding of a map with string keys other than map[string]any (see
// encAnyMap), through reflection: no such map travels today.
func (bld *wireBuilder) stringMap(c *codec, t reflect.Type) {
	elem := bld.build(t.Elem())
	c.enc = func(b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
		v := reflect.NewAt(t, p).Elem()
		if v.IsNil() {
			return append(b, 0), nil
		}
		b = binary.AppendUvarint(b, uint64(v.Len())+1)
		val := reflect.New(t.Elem()).Elem()
		var err error
		for it := v.MapRange(); it.Next(); {
			b = appendString(b, it.Key().String())
			val.Set(it.Value())
			if b, err = elem.enc(b, val.Addr().UnsafePointer(), depth); err != nil {
				return b, err
			}
		}
		return b, nil
	}
	c.dec = func(d *wireDecoder, p unsafe.Pointer, depth int) error {
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
			if err := elem.dec(d, val.Addr().UnsafePointer(), depth); err != nil {
				return err
			}
			m.SetMapIndex(key, val)
		}
		reflect.NewAt(t, p).Elem().Set(m)
		return nil
	}
}

func (bld *wireBuilder) structure(c *codec, t reflect.Type) {
	type field struct {
		offset uintptr
		c      *codec
	}
	var fields []field
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || strings.Split(f.Tag.Get("json"), ",")[0] == "-" {
			continue
		}
		fields = append(fields, field{f.Offset, bld.build(f.Type)})
	}
	c.enc = func(b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
		var err error
		for _, f := range fields {
			if b, err = f.c.enc(b, unsafe.Add(p, f.offset), depth); err != nil {
				return b, err
			}
		}
		return b, nil
	}
	c.dec = func(d *wireDecoder, p unsafe.Pointer, depth int) error {
		for _, f := range fields {
			if err := f.c.dec(d, unsafe.Add(p, f.offset), depth); err != nil {
				return err
			}
		}
		return nil
	}
	c.eq = func(p, q unsafe.Pointer) bool {
		for _, f := range fields {
			if !f.c.same(unsafe.Add(p, f.offset), unsafe.Add(q, f.offset)) {
				return false
			}
		}
		return true
	}
	c.clone = func(dst, src unsafe.Pointer) bool {
		for _, f := range fields {
			if !f.c.copyOf(unsafe.Add(dst, f.offset), unsafe.Add(src, f.offset)) {
				return false
			}
		}
		return true
	}
}

// iface is the encoding of an interface type with methods: its dynamic value as a value
// inside an empty interface, which must implement t when it arrives.
func (bld *wireBuilder) iface(c *codec, t reflect.Type) {
	c.enc = func(b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
		v := reflect.NewAt(t, p).Elem()
		if v.IsNil() {
			return append(b, tagNil), nil
		}
		return appendAny(b, v.Elem().Interface(), depth)
	}
	c.dec = func(d *wireDecoder, p unsafe.Pointer, depth int) error {
		x, err := d.any(depth)
		if err != nil || x == nil {
			return err
		}
		xv := reflect.ValueOf(x)
		if !xv.Type().Implements(t) {
			return fmt.Errorf("a %s is not a %s", xv.Type(), t)
		}
		reflect.NewAt(t, p).Elem().Set(xv)
		return nil
	}
}

// json carries a value of t as its JSON, for types whose JSON is their meaning.
func (bld *wireBuilder) json(c *codec, t reflect.Type) {
	c.enc = func(b []byte, p unsafe.Pointer, _ int) ([]byte, error) {
		j, err := json.Marshal(reflect.NewAt(t, p).Elem().Interface())
		if err != nil {
			return b, err
		}
		return appendString(b, string(j)), nil
	}
	c.dec = func(d *wireDecoder, p unsafe.Pointer, _ int) error {
		n, err := d.uvarint()
		if err != nil {
			return err
		}
		raw, err := d.bytes(int(min(n, math.MaxInt32)))
		if err != nil {
			return err
		}
		return json.Unmarshal(raw, reflect.NewAt(t, p).Interface())
	}
}

func encTime(b []byte, p unsafe.Pointer, _ int) ([]byte, error) {
	t := (*time.Time)(p)
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

func decTime(d *wireDecoder, p unsafe.Pointer, _ int) error {
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
	*(*time.Time)(p) = t
	return nil
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

func encAny(b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
	return appendAny(b, *(*any)(p), depth)
}

// encAnyMap and decAnyMap carry a map[string]any like the same map inside an interface,
// but for its nil, which is 0 like any other map's.
func encAnyMap(b []byte, p unsafe.Pointer, depth int) ([]byte, error) {
	m := *(*map[string]any)(p)
	if m == nil {
		return append(b, 0), nil
	}
	b = binary.AppendUvarint(b, uint64(len(m))+1)
	var err error
	for k, e := range m {
		b = appendString(b, k)
		if b, err = appendAny(b, e, depth); err != nil {
			return b, err
		}
	}
	return b, nil
}

func decAnyMap(d *wireDecoder, p unsafe.Pointer, depth int) error {
	n, isNil, err := d.length()
	if err != nil || isNil {
		return err
	}
	m := make(map[string]any, n)
	for range n {
		k, err := d.string()
		if err != nil {
			return err
		}
		if m[k], err = d.any(depth); err != nil {
			return err
		}
	}
	*(*map[string]any)(p) = m
	return nil
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

func decAny(d *wireDecoder, p unsafe.Pointer, depth int) error {
	x, err := d.any(depth)
	if err != nil {
		return err
	}
	if x != nil {
		*(*any)(p) = x
	}
	return nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// wireDecoder reads a wire encoding; every length is checked against what is left.
type wireDecoder struct {
	b []byte
	// src, if not empty, is a copy of all the bytes being decoded (b is always its
	// suffix): strings are cut from it.
	src  string
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

// intern returns the copy of s it keeps, or a copy of its own of a long s: never s, which
// may be part of a larger string.
func (t *interner) intern(s string) string {
	if len(s) > internMaxLen {
		return strings.Clone(s)
	}
	if x, ok := t.m[s]; ok {
		return x
	}
	return t.get([]byte(s))
}

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
	if d.src != "" {
		end := len(d.src) - len(d.b)
		return d.src[end-len(raw) : end], nil
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
