package discord

import (
	"net/http"

	"github.com/policykit-go/policykit/adapters/platform"
)

// authRoutes is the handler of /auth/discord/.
func (p *Plugged) authRoutes(sec Section, host platform.Host, secrets platform.Secrets) http.Handler {
	_ = secrets
	if sec.ClientSecret == "" {
		return platform.NotConfigured("Discord installation is not configured on this server: set DISCORD_CLIENT_SECRET")
	}
	return platform.NotConfigured("Discord installation is not available yet")
}
