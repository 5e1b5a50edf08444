"""The TrustCart domain: data model, CDM, cadence rules and KPIs. Imports no adapter."""
