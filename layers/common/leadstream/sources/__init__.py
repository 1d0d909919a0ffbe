"""Sources: the websites and apps that send behaviour, their write keys and privacy settings."""
