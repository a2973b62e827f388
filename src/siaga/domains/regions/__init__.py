"""Gazetteer: Kemendagri regions (provinsi → kabupaten → kecamatan → desa/kelurahan) and patokan."""
