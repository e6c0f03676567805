package discord

import (
	"sync"

	"github.com/bwmarrin/discordgo"
)

// apiVersion is the version of Discord's REST API and Gateway the adapter speaks.
const apiVersion = "10"

var endpointsMu sync.Mutex

// useAPI points discordgo at base (Discord's base URL, ending in "/") and API v10. discordgo
// keeps its endpoints in package variables, computed once from each other at start, so they
// are set here together, in one place; they are process-wide, which is why one process
// serves one Discord (a test's fake, or discord.com).
func useAPI(base string) {
	endpointsMu.Lock()
	defer endpointsMu.Unlock()
	discordgo.APIVersion = apiVersion
	discordgo.EndpointDiscord = base
	discordgo.EndpointAPI = base + "api/v" + apiVersion + "/"
	discordgo.EndpointGuilds = discordgo.EndpointAPI + "guilds/"
	discordgo.EndpointChannels = discordgo.EndpointAPI + "channels/"
	discordgo.EndpointUsers = discordgo.EndpointAPI + "users/"
	discordgo.EndpointGateway = discordgo.EndpointAPI + "gateway"
	discordgo.EndpointGatewayBot = discordgo.EndpointGateway + "/bot"
	discordgo.EndpointWebhooks = discordgo.EndpointAPI + "webhooks/"
	discordgo.EndpointStickers = discordgo.EndpointAPI + "stickers/"
	discordgo.EndpointStageInstances = discordgo.EndpointAPI + "stage-instances"
	discordgo.EndpointVoice = discordgo.EndpointAPI + "/voice/"
	discordgo.EndpointVoiceRegions = discordgo.EndpointVoice + "regions"
	discordgo.EndpointNitroStickersPacks = discordgo.EndpointAPI + "/sticker-packs"
	discordgo.EndpointGuildCreate = discordgo.EndpointAPI + "guilds"
	discordgo.EndpointApplications = discordgo.EndpointAPI + "applications"
	discordgo.EndpointOAuth2 = discordgo.EndpointAPI + "oauth2/"
	discordgo.EndpointOAuth2Applications = discordgo.EndpointOAuth2 + "applications"
	discordgo.EndpointOauth2 = discordgo.EndpointOAuth2
	discordgo.EndpointOauth2Applications = discordgo.EndpointOAuth2Applications
}
