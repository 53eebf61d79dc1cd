package load

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// label names a workload in logs and errors.
func (w Workload) label() string {
	if w.Name != "" {
		return w.Name
	}
	return fmt.Sprintf("%d sockets/%d channels", w.Subscribers, w.Channels)
}

// title describes the workload as the issue's table does, e.g. "W1: 5,000
// sockets on one channel, rate stepped 1→30 msg/s".
func (w Workload) title() string {
	var b strings.Builder
	if w.Name != "" {
		b.WriteString(w.Name + ": ")
	}
	b.WriteString(thousands(w.Subscribers))
	switch {
	case len(w.Rates) == 0:
		b.WriteString(" idle sockets")
	case w.Channels == 1:
		b.WriteString(" sockets on one channel")
	default:
		b.WriteString(" sockets over " + thousands(w.Channels) + " channels")
	}
	switch len(w.Rates) {
	case 0:
	case 1:
		b.WriteString(", " + thousands(int(w.Rates[0])) + " msg/s")
	default:
		b.WriteString(", rate stepped " + num(w.Rates[0]) + "→" + num(w.Rates[len(w.Rates)-1]) + " msg/s")
	}
	return b.String()
}

// WriteMarkdown writes one table of every result, one row per figure, in
// the form of issue 10's comparison table. Results of the reference server
// (Config.Reference) become a second column beside mqlive's.
func WriteMarkdown(out io.Writer, results []Result) error {
	refs := map[string]map[string]row{} // workload label → row title → row
	for _, r := range results {
		if r.Server != "reference" {
			continue
		}
		byTitle := map[string]row{}
		for _, rw := range r.rows() {
			byTitle[rw.title] = rw
		}
		refs[r.Workload.label()] = byTitle
	}
	var b strings.Builder
	if len(refs) == 0 {
		b.WriteString("| workload | mqlive | details |\n|---|---|---|\n")
	} else {
		b.WriteString("| workload | mqlive | reference server | details |\n|---|---|---|---|\n")
	}
	for _, r := range results {
		if r.Server == "reference" {
			continue
		}
		for _, rw := range r.rows() {
			if len(refs) == 0 {
				line(&b, rw.title, rw.figure, rw.details)
				continue
			}
			ref, ok := refs[r.Workload.label()][rw.title]
			details := rw.details
			switch {
			case !ok:
				ref.figure = "n/a"
			case ref.details != "":
				details += " — reference: " + ref.details
			}
			line(&b, rw.title, rw.figure, ref.figure, details)
		}
	}
	_, err := io.WriteString(out, b.String())
	return err
}

// line writes one markdown table line; an empty cell is written "| |".
func line(b *strings.Builder, cells ...string) {
	b.WriteString("|")
	for _, c := range cells {
		if c != "" {
			b.WriteString(" " + c)
		}
		b.WriteString(" |")
	}
	b.WriteString("\n")
}

// row is one line of the markdown table: what was measured, the figure,
// and the details behind it.
type row struct{ title, figure, details string }

// rows are the table's lines for one result.
func (r Result) rows() []row {
	w := r.Workload
	conn := fmt.Sprintf("connect %s/s", kilo(r.Connect.Rate()))
	if per := r.Connect.RSSPerSocket(); per >= 0 {
		conn += fmt.Sprintf(", RSS %.1f KiB/socket", per/1024)
	}
	load := ""
	if r.LoadAvg >= 0 {
		load = fmt.Sprintf("; load average %.1f", r.LoadAvg)
	}
	conn += load
	switch {
	case len(r.Steps) == 0:
		return []row{{
			title:  w.title() + ": RSS per connection; connect rate",
			figure: fmt.Sprintf("%s; %s/s", kib(r.Connect.RSSPerSocket()), kilo(r.Connect.Rate())),
			details: fmt.Sprintf("%s in %.1f s; CPU per connect: server %s, load generator %s%s",
				thousands(r.Connect.Sockets), r.Connect.Duration.Seconds(),
				us(r.Connect.PerConnect(r.Connect.ServerCPU)), us(r.Connect.PerConnect(r.Connect.GenCPU)), load),
		}}
	case len(w.Rates) == 1:
		s := r.Steps[0]
		return []row{{
			title:  w.title() + ": p99; server CPU",
			figure: fmt.Sprintf("%s; %s", ms(s.P99), pct(s.ServerCPU)),
			details: fmt.Sprintf("%s deliveries/s, loss %d, p50 %s, max %s, load generator %s; %s",
				kilo(s.PerSecond()), s.Loss(), ms(s.P50), ms(s.Max), pct(s.GenCPU), conn),
		}}
	}
	limit := "no loss"
	if w.P99Limit > 0 {
		limit += " and p99 ≤ " + ms(w.P99Limit)
	}
	best := "none"
	if r.Passed >= 0 {
		s := r.Steps[r.Passed]
		best = fmt.Sprintf("%s deliveries/s (%s msg/s, p99 %s), server %s of a core", kilo(s.PerSecond()), num(s.Rate), ms(s.P99), pct(s.ServerCPU))
	}
	stop := "every step passed"
	if r.Stopped != "" {
		stop = "stopped " + r.Stopped
	}
	rows := []row{{title: w.title() + ": highest rate with " + limit, figure: best, details: stop + "; " + conn}}
	if lo, hi, rates, ok := r.burstP99(); ok && w.Channels == 1 {
		rows = append(rows, row{
			title:  strings.TrimSpace(fmt.Sprintf("%s at %s msg/s: p99 of one %s-way burst", w.Name, rates, thousands(w.Subscribers))),
			figure: span(lo, hi),
		})
	}
	return rows
}

// WriteSteps writes every step of every result as a table.
func WriteSteps(out io.Writer, results []Result) error {
	var b strings.Builder
	b.WriteString("| workload | msg/s | sent | deliveries/s | loss | dups | lagged | p50 | p99 | max | server CPU | generator CPU | generator CPU per delivery |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		for _, s := range r.Steps {
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %d | %d | %d | %s | %s | %s | %s | %s | %s |\n",
				r.stepLabel(), num(s.Rate), s.Sent, kilo(s.PerSecond()), s.Loss(), s.Dups, s.Lagged,
				ms(s.P50), ms(s.P99), ms(s.Max), pct(s.ServerCPU), pct(s.GenCPU), us(s.GenPerDelivery()))
		}
	}
	_, err := io.WriteString(out, b.String())
	return err
}

// stepLabel names a result in the steps table: the workload, and the
// reference server's results marked as such.
func (r Result) stepLabel() string {
	if r.Server == "reference" {
		return r.Workload.label() + " (reference)"
	}
	return r.Workload.label()
}

// burstP99 is the lowest and highest p99 of the passing steps at or below
// BurstMax: at those rates each publication is delivered before the next,
// so the p99 is that of one burst to every subscriber.
// rates names the steps it covers ("1–10").
func (r Result) burstP99() (lo, hi time.Duration, rates string, ok bool) {
	var first, last float64
	for i, s := range r.Steps {
		if s.Rate > r.Workload.BurstMax || i > r.Passed {
			continue
		}
		if !ok {
			lo, first = s.P99, s.Rate
		}
		lo, hi, last = min(lo, s.P99), max(hi, s.P99), s.Rate
		ok = true
	}
	rates = num(first)
	if last != first {
		rates += "–" + num(last)
	}
	return lo, hi, rates, ok
}

func span(lo, hi time.Duration) string {
	if ms(lo) == ms(hi) {
		return ms(lo)
	}
	return strings.TrimSuffix(ms(lo), " ms") + "–" + ms(hi)
}

// ms formats a latency: "606 ms", "6.3 ms", "1.3 s".
func ms(d time.Duration) string {
	switch v := float64(d) / float64(time.Millisecond); {
	case v >= 1000:
		return strings.TrimSuffix(strconv.FormatFloat(v/1000, 'f', 1, 64), ".0") + " s"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
	default:
		return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
	}
}

// us formats a CPU cost: "12.3 µs", "412 µs"; "n/a" when negative.
func us(d time.Duration) string {
	switch v := float64(d) / float64(time.Microsecond); {
	case d < 0:
		return "n/a"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64) + " µs"
	default:
		return strconv.FormatFloat(v, 'f', 1, 64) + " µs"
	}
}

// kilo formats a count: "97k", "6.2k", "950".
func kilo(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "n/a"
	case v >= 100000:
		return strconv.FormatFloat(v/1000, 'f', 0, 64) + "k"
	case v >= 1000:
		return strconv.FormatFloat(v/1000, 'f', 1, 64) + "k"
	default:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
}

func kib(bytes float64) string {
	if bytes < 0 {
		return "n/a"
	}
	return strconv.FormatFloat(bytes/1024, 'f', 1, 64) + " KiB"
}

func pct(p float64) string {
	if p < 0 {
		return "n/a"
	}
	return strconv.FormatFloat(p, 'f', 0, 64) + "%"
}

// num formats a rate without trailing zeros.
func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// thousands formats an integer with commas: 19500 → "19,500".
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
