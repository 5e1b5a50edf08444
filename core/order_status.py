"""The statuses an order can have in the ERP (a module of its own: the orders parser process
checks them without importing the models)."""

ORDER_STATUSES = ("delivered", "pending", "cancelled", "returned")
