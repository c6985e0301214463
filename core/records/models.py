"""Every table of the shared records, for ``register_models``."""
from core.records.catalog import Product
from core.records.items import Item
from core.records.parties import Customer, Vendor
from core.records.stock import Location, Reservation, StockLevel, StockMove

RECORD_MODELS = (Customer, Vendor, Product, Location, Item, StockMove, StockLevel, Reservation)
