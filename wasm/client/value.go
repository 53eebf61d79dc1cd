package client

// Kind is the JSON type of a Value.
type Kind uint8

// Kinds of Value. Missing stands for an absent object member or array
// element; JavaScript's undefined maps to it.
const (
	Missing Kind = iota
	Null
	Bool
	Number
	String
	Array
	Object
)

// Value is one parsed JSON value owned by a Codec. In the browser it wraps
// the object JSON.parse returned; natively it wraps what encoding/json
// produced. Accessors on the wrong kind return the zero value.
type Value interface {
	Kind() Kind
	// Get returns an object member, or a Missing value.
	Get(key string) Value
	// Index returns an array element, or a Missing value.
	Index(i int) Value
	// Len is the length of an array, else 0.
	Len() int
	// Keys lists an object's member names, else nil.
	Keys() []string
	Str() string
	Float() float64
	Truth() bool
}

// Codec parses inbound frames and serialises opaque application data.
type Codec interface {
	// Parse parses one text frame.
	Parse(text string) (Value, error)
	// Stringify serialises a Value that came from this codec (or from the
	// application, e.g. publish data) into JSON text.
	Stringify(v Value) (string, error)
}

// str returns v's member key when it is a string.
func str(v Value, key string) string {
	m := v.Get(key)
	if m.Kind() != String {
		return ""
	}
	return m.Str()
}

// num returns v's member key when it is a number.
func num(v Value, key string) (float64, bool) {
	m := v.Get(key)
	if m.Kind() != Number {
		return 0, false
	}
	return m.Float(), true
}
