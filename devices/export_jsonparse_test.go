package devices

// The JSON decoders, for FuzzDecodeValue: a top-level object's members
// come as key and value pairs in order.
var (
	DecodeValue     = decodeValue
	DecodeValueSlow = decodeValueSlow
)

func DecodeObject(p []byte) ([][2]any, error)     { return pairs(decodeObject(p)) }
func DecodeObjectSlow(p []byte) ([][2]any, error) { return pairs(decodeObjectSlow(p)) }

func pairs(obj []member, err error) ([][2]any, error) {
	if err != nil {
		return nil, err
	}
	out := make([][2]any, len(obj))
	for i, m := range obj {
		out[i] = [2]any{m.key, m.val}
	}
	return out, nil
}

// DecodeObjectErr and DecodeValueErr decode p and drop the result, for the
// benchmarks.
func DecodeObjectErr(p []byte) error { _, err := decodeObject(p); return err }
func DecodeValueErr(p []byte) error  { _, err := decodeValue(p); return err }

// KeyNamesLen is the number of interned object keys (jsonParser.key).
func KeyNamesLen() int {
	if m := keyNames.m.Load(); m != nil {
		return len(*m)
	}
	return 0
}

// MaxKeyNames bounds KeyNamesLen.
const MaxKeyNames = maxKeyNames
