"""The customer data model (CDM): segmentation and the Customer 360 view."""
