package bridge

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidateTTNTenants(t *testing.T) {
	c := validConfig()
	c.Sources = []SourceConfig{{Family: "ttn", Tenant: "acme", TTNTenants: []string{"acme", "ttn"}}}
	require.NoError(t, c.Validate())

	c.Sources = []SourceConfig{{Family: "ttn", TTNTenants: []string{"Acme"}}}
	err := c.Validate()
	require.ErrorContains(t, err, `sources[0].ttn_tenants: ttn tenant "Acme" is not a The Things Stack tenant id`)

	c.Sources = []SourceConfig{{Family: "zigbee2mqtt", TTNTenants: []string{"acme"}}}
	require.ErrorContains(t, c.Validate(), "sources[0].ttn_tenants: only family ttn takes ttn_tenants")
}
