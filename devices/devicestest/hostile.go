package devicestest

import (
	"bytes"
	"math/rand/v2"
	"strings"
)

// Payload is one named test payload.
type Payload struct {
	Name string
	Data []byte
}

// Hostile returns payloads no decoder may turn into a Reading: each must
// be rejected with a *devices.DecodeError or ignored. The corpus is the same
// on every call (its garbage comes from a fixed seed).
func Hostile() []Payload {
	garbage := make([]byte, 512)
	rnd := rand.New(rand.NewPCG(7, 11))
	for i := range garbage {
		garbage[i] = byte(rnd.UintN(256))
	}
	garbage[0] = 0xff // never valid UTF-8, whatever the seed gives
	return []Payload{
		{"truncated_json", []byte(`{"temperature": 21.`)},
		{"truncated_object", []byte(`{"temperature":21.5,"humidity":`)},
		{"unterminated_string", []byte(`{"temperature":"21`)},
		{"invalid_utf8_string", []byte("{\"model\":\"\xff\xfe\"}")},
		{"invalid_utf8_key", []byte("{\"\xc3\x28\":1}")},
		{"overlong_utf8", []byte("{\"a\":\"\xc0\xaf\"}")},
		{"deep_array", bytes.Repeat([]byte("["), 10000)},
		{"deep_array_closed", append(bytes.Repeat([]byte("["), 10000), bytes.Repeat([]byte("]"), 10000)...)},
		{"deep_object", []byte(strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000))},
		{"deep_in_field", []byte(`{"temperature":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`)},
		{"huge_5MiB", append(append([]byte(`{"temperature":21,"pad":"`), bytes.Repeat([]byte("x"), 5<<20)...), '"', '}')},
		{"nan_literal", []byte(`{"temperature":NaN}`)},
		{"infinity_literal", []byte(`{"temperature":Infinity}`)},
		{"number_1e400", []byte(`{"temperature":1e400,"power":1e400,"Temperature":1e400,"POWER":1e400}`)},
		{"number_-1e400", []byte(`{"temperature":-1e400,"Temperature":-1e400}`)},
		{"nested_1e400", []byte(`{"AM2301":{"Temperature":1e400},"ENERGY":{"Power":1e400},"color":{"x":1e400}}`)},
		{"binary_garbage", garbage},
		{"nul_bytes", []byte{0, 0, 0, 0}},
		{"trailing_garbage", []byte(`{"temperature":21}}}`)},
		{"two_values", []byte(`{"temperature":21} {"temperature":22}`)},
		{"bare_close", []byte(`}`)},
	}
}
