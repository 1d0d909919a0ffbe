"""Identity: identifiers, which lead they belong to (resolution and merge policy), contact profiles."""
