package client

// parseTime parses an RFC 3339 timestamp ("2026-11-23T17:00:00.123Z",
// "…+01:00") into Unix milliseconds; it returns 0 for anything else. It replaces
// time.Parse, which adds about 60 KB brotli to the WebAssembly build.
func parseTime(s string) int64 {
	unix, nanos, ok := parseRFC3339(s)
	if !ok {
		return 0
	}
	return unix*1000 + nanos/1e6
}

// parseTimeFine is parseTime keeping the fraction of the millisecond: the
// bridge stamps received_at in nanoseconds, and loopback latencies are
// around a millisecond.
func parseTimeFine(s string) float64 {
	unix, nanos, ok := parseRFC3339(s)
	if !ok {
		return 0
	}
	return float64(unix)*1000 + float64(nanos)/1e6
}

// parseRFC3339 returns Unix seconds and the nanoseconds of the fraction.
func parseRFC3339(s string) (unix, nanos int64, ok bool) {
	// YYYY-MM-DDTHH:MM:SS is 19 bytes, then optional .fraction, then the zone.
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
		s[13] != ':' || s[16] != ':' {
		return 0, 0, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > daysIn(year, month) || hour > 23 || minute > 59 || sec > 59 {
		return 0, 0, false
	}
	rest := s[19:]
	if len(rest) > 0 && rest[0] == '.' {
		i := 1
		scale := int64(100000000)
		for ; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
			nanos += int64(rest[i]-'0') * scale
			scale /= 10
		}
		if i == 1 {
			return 0, 0, false
		}
		rest = rest[i:]
	}
	var offset int64
	switch {
	case rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, okh := digits(rest[1:3])
		om, okm := digits(rest[4:6])
		if !okh || !okm || oh > 23 || om > 59 {
			return 0, 0, false
		}
		offset = int64(oh*3600 + om*60)
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return 0, 0, false
	}
	unix = daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+sec) - offset
	return unix, nanos, true
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil counts days since 1970-01-01 in the proleptic Gregorian
// calendar (H. Hinnant's days_from_civil algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
