"""Delivery channels, one module per kind behind `base.Channel`: email, wecom, file."""
