"""Route modules, each one `APIRouter`."""
