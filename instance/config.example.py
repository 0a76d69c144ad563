# Copy to instance/config.py and adjust. Every key can also be set as an environment
# variable with the PORTAL_ prefix (PORTAL_SECRET_KEY, ...), which wins over this file.

# "production" refuses to start without a real SECRET_KEY.
ENV = "production"
SECRET_KEY = "paste the output of: python -c 'import secrets; print(secrets.token_hex(32))'"

# PostgreSQL; without it the portal uses SQLite in instance/portal.db.
DATABASE_URL = "postgresql://portal:password@127.0.0.1:5432/portal"

# Files: "local" (under UPLOAD_FOLDER) or "s3" (any S3-compatible store).
STORAGE_BACKEND = "local"
UPLOAD_FOLDER = "/srv/portal/uploads"
UPLOAD_MAX_MB = 50
# S3_ENDPOINT_URL = "http://127.0.0.1:9000"
# S3_BUCKET = "portal"
# S3_ACCESS_KEY = "..."
# S3_SECRET_KEY = "..."
# S3_REGION = "us-east-1"
# S3_ADDRESSING_STYLE = "path"

# Behind a reverse proxy (nginx) that sets X-Forwarded-For / X-Forwarded-Proto.
TRUSTED_PROXIES = 1
