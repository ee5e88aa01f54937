"""Supporters' pages: the campaign, signing, confirming."""
