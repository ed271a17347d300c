package config

import "time"

// Defaults. Where IOS's own default is weak (des, group 1, rsa-sig without
// certificates), gresec's default is a strong choice instead, so a policy
// that omits a line can never end up negotiating something breakable.
const (
	defaultPolicyBits     = 128
	defaultPolicyHash     = HashSHA1 // HMAC-SHA1 as a PRF is still sound
	defaultPolicyGroup    = DHGroup(14)
	defaultPolicyLifetime = 86400 * time.Second

	defaultDPDRetry = 2 * time.Second

	defaultSALifetime   = 3600 * time.Second
	defaultSAKilobytes  = 4608000
	defaultReplayWindow = 64

	maxKeyLength = 128 // as IOS
	// minGoodKeyLength is the shortest pre-shared key `check` does not
	// warn about.
	minGoodKeyLength = 16
	maxProfileSets   = 6  // as IOS
	maxNameLength    = 64 // transform-set and profile names; longer is surely a mistake
)

// cryptoCommands are the global `crypto ...` commands.
var cryptoCommands = []*command{
	{name: "isakmp", sub: []*command{
		{name: "policy", run: (*parser).isakmpPolicy},
		{name: "key", run: (*parser).isakmpKey},
		{name: "keepalive", run: (*parser).isakmpKeepalive},
		{name: "nat", sub: []*command{
			{name: "keepalive", run: (*parser).natKeepalive},
			{name: "force-encap", run: (*parser).natForceEncap},
		}},
	}},
	{name: "ipsec", sub: []*command{
		{name: "transform-set", run: (*parser).transformSet},
		{name: "profile", run: (*parser).ipsecProfile},
		{name: "security-association", sub: []*command{
			{name: "replay", sub: []*command{
				{name: "window-size", run: (*parser).replayWindow},
				{name: "disable", run: (*parser).replayDisable, hidden: true},
			}},
			{name: "lifetime", run: (*parser).globalSALifetime, hidden: true},
		}},
	}},
	{name: "ikev2", sub: ikev2Commands},
	{name: "pki", sub: pkiCommands},
	{name: "map", run: (*parser).cryptoMap, hidden: true},
}

// policyContext is the mode of a `crypto isakmp policy N` section.
var policyContext = context{
	name: "crypto isakmp policy",
	commands: []*command{
		{name: "encryption", run: (*parser).policyEncryption},
		{name: "hash", run: (*parser).policyHash},
		{name: "authentication", run: (*parser).policyAuthentication},
		{name: "group", run: (*parser).policyGroup},
		{name: "lifetime", run: (*parser).policyLifetime},
	},
}

// transformSetContext is the mode of a `crypto ipsec transform-set` section.
var transformSetContext = context{
	name: "crypto ipsec transform-set",
	commands: []*command{
		{name: "mode", run: (*parser).transformMode},
	},
}

// profileContext is the mode of a `crypto ipsec profile NAME` section.
var profileContext = context{
	name: "crypto ipsec profile",
	commands: []*command{
		{name: "set", sub: []*command{
			{name: "transform-set", run: (*parser).profileTransformSets},
			{name: "pfs", run: (*parser).profilePFS},
			{name: "ikev2-profile", run: (*parser).profileIKEv2},
			{name: "security-association", sub: []*command{
				{name: "lifetime", sub: []*command{
					{name: "seconds", run: (*parser).profileLifetimeSeconds},
					{name: "kilobytes", run: (*parser).profileLifetimeKilobytes},
				}},
			}},
		}},
	},
}
