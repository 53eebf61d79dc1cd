package state

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/wire"
)

// fill appends publications 1..n to h, one second apart from t0.
func fill(h *history, n int, t0 time.Time) {
	for i := 1; i <= n; i++ {
		off := h.offset + 1
		h.append(NewPublication("app:x", h.epoch, off, []byte(strconv.FormatUint(off, 10)), nil, t0.Add(time.Duration(off)*time.Second)))
	}
}

func offsets(ps []*Publication) []uint64 {
	out := make([]uint64, len(ps))
	for i, p := range ps {
		out[i] = p.Offset
	}
	return out
}

func seq(from, to uint64) []uint64 {
	var out []uint64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func TestHistoryRingWrapsAround(t *testing.T) {
	t0 := time.Now()
	h := newHistory("e", 4)
	fill(h, 3, t0)
	require.Equal(t, 3, h.n())
	page, _ := h.query(HistoryQuery{Limit: 10}, 0, t0)
	require.Equal(t, []uint64{1, 2, 3}, offsets(page))
	fill(h, 7, t0) // 4..10
	require.Equal(t, 4, h.n(), "the ring never grows past its size")
	require.Equal(t, uint64(10), h.offset)
	var got []uint64
	for i := 0; i < h.n(); i++ {
		got = append(got, h.at(i).Offset)
	}
	require.Equal(t, []uint64{7, 8, 9, 10}, got)
	// Exactly one full turn more keeps the order.
	fill(h, 4, t0)
	got = got[:0]
	for i := 0; i < h.n(); i++ {
		got = append(got, h.at(i).Offset)
	}
	require.Equal(t, []uint64{11, 12, 13, 14}, got)
}

func TestHistorySince(t *testing.T) {
	t0 := time.Now()
	h := newHistory("e", 4)
	fill(h, 10, t0) // retains 7..10
	now := t0.Add(11 * time.Second)
	cases := []struct {
		name string
		pos  wire.StreamPosition
		want []uint64
		ok   bool
	}{
		{"same offset", wire.StreamPosition{Epoch: "e", Offset: 10}, nil, true},
		{"one missing", wire.StreamPosition{Epoch: "e", Offset: 9}, []uint64{10}, true},
		{"inside window", wire.StreamPosition{Epoch: "e", Offset: 8}, []uint64{9, 10}, true},
		{"whole window", wire.StreamPosition{Epoch: "e", Offset: 6}, []uint64{7, 8, 9, 10}, true},
		{"just beyond window", wire.StreamPosition{Epoch: "e", Offset: 5}, nil, false},
		{"far beyond window", wire.StreamPosition{Epoch: "e", Offset: 0}, nil, false},
		{"wrong epoch", wire.StreamPosition{Epoch: "old", Offset: 9}, nil, false},
		{"empty epoch", wire.StreamPosition{Epoch: "", Offset: 10}, nil, false},
		{"future offset", wire.StreamPosition{Epoch: "e", Offset: 11}, nil, false},
		{"far future offset", wire.StreamPosition{Epoch: "e", Offset: ^uint64(0)}, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := h.since(tc.pos, time.Hour, now)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, len(tc.want), len(got))
			if len(tc.want) > 0 {
				require.Equal(t, tc.want, offsets(got))
			}
		})
	}
}

func TestHistorySinceEmpty(t *testing.T) {
	h := newHistory("e", 4)
	got, ok := h.since(wire.StreamPosition{Epoch: "e", Offset: 0}, time.Hour, time.Now())
	require.True(t, ok)
	require.Empty(t, got)
	_, ok = h.since(wire.StreamPosition{Epoch: "e", Offset: 1}, time.Hour, time.Now())
	require.False(t, ok, "an offset the channel never reached")
}

func TestHistorySinceTTL(t *testing.T) {
	t0 := time.Now()
	h := newHistory("e", 100)
	fill(h, 10, t0) // publication i at t0+i s
	ttl := 5 * time.Second
	now := t0.Add(12 * time.Second) // 1..6 are older than ttl, 7..10 not
	got, ok := h.since(wire.StreamPosition{Epoch: "e", Offset: 6}, ttl, now)
	require.True(t, ok)
	require.Equal(t, []uint64{7, 8, 9, 10}, offsets(got))
	_, ok = h.since(wire.StreamPosition{Epoch: "e", Offset: 5}, ttl, now)
	require.False(t, ok, "publication 6 expired: recovery would miss it")
	_, ok = h.since(wire.StreamPosition{Epoch: "e", Offset: 5}, 0, now)
	require.True(t, ok, "no TTL: everything retained is recoverable")
	got, ok = h.since(wire.StreamPosition{Epoch: "e", Offset: 10}, ttl, t0.Add(time.Hour))
	require.True(t, ok, "nothing missed: nothing expired matters")
	require.Empty(t, got)
}

func TestHistoryQuery(t *testing.T) {
	t0 := time.Now()
	now := t0.Add(time.Minute)
	pos := func(epoch string, off uint64) *wire.StreamPosition {
		return &wire.StreamPosition{Epoch: epoch, Offset: off}
	}

	full := newHistory("e", 10)
	fill(full, 6, t0) // 1..6, nothing dropped
	wrapped := newHistory("e", 4)
	fill(wrapped, 10, t0) // 7..10

	cases := []struct {
		name     string
		h        *history
		since    *wire.StreamPosition
		until    time.Time
		limit    int
		want     []uint64
		complete bool
	}{
		{"everything", full, nil, time.Time{}, 1000, seq(1, 6), true},
		{"empty history", newHistory("e", 4), nil, time.Time{}, 1000, nil, true},
		{"dropped by the ring", wrapped, nil, time.Time{}, 1000, seq(7, 10), false},
		{"since inside", full, pos("e", 3), time.Time{}, 1000, seq(4, 6), true},
		{"since zero", full, pos("e", 0), time.Time{}, 1000, seq(1, 6), true},
		{"since newest", full, pos("e", 6), time.Time{}, 1000, nil, true},
		{"since future", full, pos("e", 60), time.Time{}, 1000, nil, true},
		{"since just before window", wrapped, pos("e", 6), time.Time{}, 1000, seq(7, 10), true},
		{"since beyond window", wrapped, pos("e", 5), time.Time{}, 1000, seq(7, 10), false},
		{"since inside wrapped", wrapped, pos("e", 8), time.Time{}, 1000, seq(9, 10), true},
		{"wrong epoch", full, pos("x", 3), time.Time{}, 1000, seq(1, 6), false},
		{"until cuts", full, nil, t0.Add(4 * time.Second), 1000, seq(1, 4), true},
		{"until before all", full, nil, t0, 1000, nil, true},
		{"since and until", full, pos("e", 1), t0.Add(3 * time.Second), 1000, seq(2, 3), true},
		{"limit cuts", full, nil, time.Time{}, 2, seq(1, 2), false},
		{"limit exactly fits", full, nil, time.Time{}, 6, seq(1, 6), true},
		{"limit with since", full, pos("e", 2), time.Time{}, 3, seq(3, 5), false},
		{"limit after until", full, nil, t0.Add(2 * time.Second), 2, seq(1, 2), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, complete := tc.h.query(HistoryQuery{Since: tc.since, Until: tc.until, Limit: tc.limit}, time.Hour, now)
			require.Equal(t, tc.complete, complete)
			require.Equal(t, len(tc.want), len(got))
			if len(tc.want) > 0 {
				require.Equal(t, tc.want, offsets(got))
			}
		})
	}
}

func TestHistoryQueryTTL(t *testing.T) {
	t0 := time.Now()
	h := newHistory("e", 10)
	fill(h, 6, t0)
	now := t0.Add(8 * time.Second) // with ttl 4s, 1..3 are expired
	got, complete := h.query(HistoryQuery{Limit: 1000}, 4*time.Second, now)
	require.False(t, complete)
	require.Equal(t, seq(4, 6), offsets(got))
	got, complete = h.query(HistoryQuery{Since: &wire.StreamPosition{Epoch: "e", Offset: 3}, Limit: 1000}, 4*time.Second, now)
	require.True(t, complete, "nothing after since expired")
	require.Equal(t, seq(4, 6), offsets(got))
}
