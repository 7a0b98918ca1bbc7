"""Static files of the run browser (index.html, app.js, style.css), served by ``api/routes/web.py``."""
