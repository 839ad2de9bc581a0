"""One module per corpus entry; each defines ``APP`` (a ``realapps.RealApp``)."""
