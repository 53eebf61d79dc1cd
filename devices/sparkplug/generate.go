package sparkplug

// The Sparkplug B payload types are generated from the Eclipse Tahu
// definition, kept unedited in sparkplug_b.proto; the Go package is given
// on the command line (M flag) so that the upstream file needs no option.
//go:generate protoc --proto_path=. --go_out=. --go_opt=paths=source_relative --go_opt=Msparkplug_b.proto=github.com/mqlive/mqlive/devices/sparkplug;sparkplug sparkplug_b.proto
