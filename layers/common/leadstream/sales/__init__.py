"""The sales side: what the sales API answers (the LeadCard) and who may ask."""
