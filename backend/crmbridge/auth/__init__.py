"""Identity: validating Entra access tokens and on-behalf-of tokens for Microsoft Graph."""
