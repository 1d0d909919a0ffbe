"""Firmographics: the company behind an anonymous visitor's network, looked up before the IP is anonymised.

`company` is the pure part (the value, the resolver protocol, the network a visitor is looked up by);
`ipinfo` is one provider; `cache` keeps answers per network in DynamoDB; `resolver` puts them together.
"""
