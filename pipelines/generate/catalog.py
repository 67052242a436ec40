"""Reference data the generator draws from: firearms, places, licensing codes, names.

Everything here is plain data (tuples and dicts) so it reads like a table and can be
reviewed without running anything. Weights are relative, not percentages.

Sources of the codes:
- ATF region and district codes per state: from the real listing sample in
  ``shared/data/ffl/`` where the state appears there (AK AZ CA LA MA NM OH PA PR TX UT
  VI WA, including which county belongs to which district in CA and TX); for the other
  states the historical IRS district-office codes that ATF's listing still uses, to the
  best of public knowledge (documented in docs/GENERATOR.md as an approximation).
- Counties are FIPS county codes of the state; cities come with a real county and ZIP.
- Mexican states are INEGI's 32 entities (2009-2014 names: Distrito Federal).
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------
# Firearms
# --------------------------------------------------------------------------------------
# (manufacturer, model, caliber, firearm_type, country, importer, serial_format, weight,
#  roles) where roles says which origins may draw the entry:
#   "M" = made in the US (origin us_manufactured)
#   "I" = foreign, imported into the US by ``importer`` (origin us_imported)
#   "T" = foreign, reached Mexico without entering the US (origin third_country)
#   "D" = a semi-automatic rifle over .22 calibre that Demand Letter 3 covers
# Serial formats: see ``rand.format_serial``.
FIREARMS: tuple[tuple, ...] = (
    # --- US-made rifles
    ("Colt", "AR-15", ".223", "RIFLE", "US", "", "L2D6", 30, "MD"),
    ("Colt", "M4 CARBINE", "5.56", "RIFLE", "US", "", "L2D6", 12, "MD"),
    ("Bushmaster", "XM15-E2S", ".223", "RIFLE", "US", "", "L2D6", 28, "MD"),
    ("DPMS", "A-15", "5.56", "RIFLE", "US", "", "L2D6", 14, "MD"),
    ("DPMS", "LR-308", ".308", "RIFLE", "US", "", "L2D6", 3, "MD"),
    ("Smith & Wesson", "M&P15", "5.56", "RIFLE", "US", "", "L3D5", 14, "MD"),
    ("Olympic Arms", "PLINKER PLUS", ".223", "RIFLE", "US", "", "L2D6", 5, "MD"),
    ("Del-Ton", "DTI-15", "5.56", "RIFLE", "US", "", "L3D5", 4, "MD"),
    ("Rock River Arms", "LAR-15", ".223", "RIFLE", "US", "", "L2D6", 4, "MD"),
    ("Sturm, Ruger & Co", "MINI-14", ".223", "RIFLE", "US", "", "D3D5", 8, "MD"),
    ("Sturm, Ruger & Co", "10/22", ".22 LR", "RIFLE", "US", "", "D3D5", 6, "M"),
    ("Century Arms", "C39", "7.62X39", "RIFLE", "US", "", "L2D6", 3, "MD"),
    ("Barrett", "M82A1", ".50 BMG", "RIFLE", "US", "", "D8", 2, "MD"),
    ("Armalite", "AR-50", ".50 BMG", "RIFLE", "US", "", "L2D6", 1, "MD"),
    ("Remington", "700", ".308", "RIFLE", "US", "", "L2D6", 3, "M"),
    ("Marlin", "60", ".22 LR", "RIFLE", "US", "", "D8", 3, "M"),
    ("Winchester", "MODEL 70", ".30-06", "RIFLE", "US", "", "L2D6", 2, "M"),
    ("Kel-Tec", "SUB-2000", "9MM", "RIFLE", "US", "", "L3D5", 2, "M"),
    # --- US-made shotguns
    ("Mossberg", "500", "12GA", "SHOTGUN", "US", "", "L2D6", 6, "M"),
    ("Remington", "870", "12GA", "SHOTGUN", "US", "", "L2D6", 6, "M"),
    ("Maverick Arms", "88", "12GA", "SHOTGUN", "US", "", "L2D6", 3, "M"),
    ("Winchester", "1300", "12GA", "SHOTGUN", "US", "", "L2D6", 2, "M"),
    # --- US-made machine guns
    ("Colt", "M16A2", "5.56", "MACHINE GUN", "US", "", "L2D6", 2, "M"),
    # --- US-made pistols and revolvers
    ("Colt", "SUPER", ".38 SUPER", "PISTOL", "US", "", "L2D6", 18, "M"),
    ("Colt", "GOVERNMENT 1911", ".45 ACP", "PISTOL", "US", "", "L2D6", 10, "M"),
    ("Smith & Wesson", "SW9VE", "9MM", "PISTOL", "US", "", "L3D5", 10, "M"),
    ("Smith & Wesson", "M&P40", ".40 S&W", "PISTOL", "US", "", "L3D5", 6, "M"),
    ("Smith & Wesson", "MODEL 10", ".38 SPL", "REVOLVER", "US", "", "L3D5", 5, "M"),
    ("Smith & Wesson", "686", ".357 MAG", "REVOLVER", "US", "", "L3D5", 3, "M"),
    ("Sturm, Ruger & Co", "P95", "9MM", "PISTOL", "US", "", "D3D5", 9, "M"),
    ("Sturm, Ruger & Co", "P89", "9MM", "PISTOL", "US", "", "D3D5", 5, "M"),
    ("Sturm, Ruger & Co", "GP100", ".357 MAG", "REVOLVER", "US", "", "D3D5", 3, "M"),
    ("Hi-Point", "C9", "9MM", "PISTOL", "US", "", "L1D7", 6, "M"),
    ("Hi-Point", "JHP", ".45 ACP", "PISTOL", "US", "", "L1D7", 2, "M"),
    ("Kel-Tec", "P-11", "9MM", "PISTOL", "US", "", "L3D5", 3, "M"),
    ("Springfield Armory", "1911-A1", ".45 ACP", "PISTOL", "US", "", "L2D6", 3, "M"),
    ("Kimber", "CUSTOM II", ".45 ACP", "PISTOL", "US", "", "L1D7", 2, "M"),
    ("Bond Arms", "SNAKE SLAYER", ".410", "DERRINGER", "US", "", "D8", 1, "M"),
    ("Cobra Enterprises", "CB38", ".38 SPL", "DERRINGER", "US", "", "L2D6", 1, "M"),
    # --- US-made others
    ("Cobray", "M-11/9", "9MM", "SUBMACHINE GUN", "US", "", "D3D5", 3, "M"),
    ("Ingram", "MAC-10", ".45 ACP", "SUBMACHINE GUN", "US", "", "L2D6", 1, "M"),
    ("Anderson Manufacturing", "AM-15", "MULTI", "RECEIVER/FRAME", "US", "", "L2D6", 3, "M"),
    ("Bushmaster", "XM15 LOWER", "MULTI", "RECEIVER/FRAME", "US", "", "L2D6", 1, "M"),
    # --- foreign rifles (AK types, FN, HK, ...)
    ("Romarm/Cugir", "WASR-10", "7.62X39", "RIFLE", "RO", "Century Arms", "ROM", 30, "ITD"),
    ("Romarm/Cugir", "GP WASR-10/63", "7.62X39", "RIFLE", "RO", "Century Arms", "ROM", 8, "ID"),
    ("Norinco", "MAK-90", "7.62X39", "RIFLE", "CN", "China Sports Inc", "D8", 6, "ITD"),
    ("Norinco", "TYPE 56", "7.62X39", "RIFLE", "CN", "", "D8", 10, "T"),
    ("Izhmash", "SAIGA", "7.62X39", "RIFLE", "RU", "RWC Group", "D8", 5, "ITD"),
    ("Izhmash", "AKM", "7.62X39", "RIFLE", "RU", "", "L2D6", 6, "T"),
    ("Zastava", "PAP M70", "7.62X39", "RIFLE", "RS", "Century Arms", "L2D6", 5, "ITD"),
    ("Arsenal", "SAM7", "7.62X39", "RIFLE", "BG", "Arsenal Inc", "L2D6", 3, "ID"),
    ("Arsenal", "AKS-47", "7.62X39", "RIFLE", "BG", "", "L2D6", 3, "T"),
    ("FN Herstal", "PS90", "5.7X28", "RIFLE", "BE", "FNH USA", "L3D5", 3, "ID"),
    ("FN Herstal", "FAL", "7.62X51", "RIFLE", "BE", "", "L3D5", 5, "T"),
    ("Heckler & Koch", "G3", "7.62X51", "RIFLE", "DE", "", "D8", 6, "T"),
    ("SEDENA/DIM", "G3", "7.62X51", "RIFLE", "MX", "", "D8", 5, "T"),
    ("IMBEL", "MD-97", "5.56", "RIFLE", "BR", "", "D8", 3, "T"),
    ("Daewoo", "DR-200", ".223", "RIFLE", "KR", "Century Arms", "L2D6", 2, "ID"),
    ("Daewoo", "K2", "5.56", "RIFLE", "KR", "", "L2D6", 2, "T"),
    ("Beretta", "AR70", ".223", "RIFLE", "IT", "", "L2D6", 2, "T"),
    ("Baikal", "MP-153", "12GA", "SHOTGUN", "RU", "European American Armory", "D8", 2, "IT"),
    ("Benelli", "M4 SUPER 90", "12GA", "SHOTGUN", "IT", "Benelli USA", "L2D6", 1, "IT"),
    # --- foreign machine guns
    ("FN Herstal", "M2HB", ".50 BMG", "MACHINE GUN", "BE", "", "L3D5", 1, "T"),
    ("FN Herstal", "MINIMI", "5.56", "MACHINE GUN", "BE", "", "L3D5", 1, "T"),
    ("Heckler & Koch", "HK21", "7.62X51", "MACHINE GUN", "DE", "", "D8", 1, "T"),
    # --- foreign pistols and revolvers
    ("Glock", "17", "9MM", "PISTOL", "AT", "Glock Inc", "L3D5", 12, "IT"),
    ("Glock", "19", "9MM", "PISTOL", "AT", "Glock Inc", "L3D5", 10, "IT"),
    ("Glock", "22", ".40 S&W", "PISTOL", "AT", "Glock Inc", "L3D5", 5, "IT"),
    ("Beretta", "92FS", "9MM", "PISTOL", "IT", "Beretta USA Corp", "L2D6", 10, "IT"),
    ("Taurus", "PT92", "9MM", "PISTOL", "BR", "Taurus International", "L3D5", 10, "IT"),
    ("Taurus", "PT 24/7", ".40 S&W", "PISTOL", "BR", "Taurus International", "L3D5", 4, "IT"),
    ("Taurus", "85", ".38 SPL", "REVOLVER", "BR", "Taurus International", "L2D6", 4, "IT"),
    ("Bersa", "THUNDER 380", ".380 ACP", "PISTOL", "AR", "Eagle Imports", "D8", 5, "IT"),
    ("FN Herstal", "FIVE-SEVEN", "5.7X28", "PISTOL", "BE", "FNH USA", "L3D5", 6, "IT"),
    ("CZ", "75B", "9MM", "PISTOL", "CZ", "CZ-USA", "L1D7", 4, "IT"),
    ("Sig Sauer", "P226", "9MM", "PISTOL", "DE", "Sigarms Inc", "L2D6", 3, "IT"),
    ("Heckler & Koch", "USP", ".40 S&W", "PISTOL", "DE", "Heckler & Koch Inc", "D8", 3, "IT"),
    ("Walther", "PPK", ".380 ACP", "PISTOL", "DE", "Interarms", "D8", 2, "IT"),
    ("Norinco", "1911A1", ".45 ACP", "PISTOL", "CN", "China Sports Inc", "D8", 2, "IT"),
    ("FEG", "PA-63", "9X18", "PISTOL", "HU", "Century Arms", "L2D6", 2, "IT"),
    ("Llama", "MAX-I", ".38 SUPER", "PISTOL", "ES", "SGS Importers", "L2D6", 3, "IT"),
    ("Obregon", "1934", ".45 ACP", "PISTOL", "MX", "", "D8", 1, "T"),
    # --- foreign others
    ("Heckler & Koch", "MP5", "9MM", "SUBMACHINE GUN", "DE", "", "D8", 3, "T"),
    ("IMI", "UZI", "9MM", "SUBMACHINE GUN", "IL", "Action Arms", "L2D6", 3, "IT"),
    ("Beretta", "PM12", "9MM", "SUBMACHINE GUN", "IT", "", "L2D6", 1, "T"),
    ("FN Herstal", "P90", "5.7X28", "SUBMACHINE GUN", "BE", "", "L3D5", 2, "T"),
    ("CZ", "SKORPION VZ61", ".32 ACP", "SUBMACHINE GUN", "CZ", "", "L1D7", 1, "T"),
)

TYPE_CLASS = {
    "RIFLE": 0,
    "SHOTGUN": 0,
    "MACHINE GUN": 0,
    "PISTOL": 1,
    "REVOLVER": 1,
    "DERRINGER": 1,
    "SUBMACHINE GUN": 2,
    "RECEIVER/FRAME": 2,
    "UNKNOWN": 2,
}
TYPE_CLASS_NAMES = ("long", "short", "other")

# English word -> Spanish words a Mexican eTrace submission uses (the first is the usual).
SPANISH_TYPE = {
    "RIFLE": ("RIFLE", "FUSIL"),
    "SHOTGUN": ("ESCOPETA",),
    "MACHINE GUN": ("AMETRALLADORA",),
    "PISTOL": ("PISTOLA",),
    "REVOLVER": ("REVOLVER",),
    "DERRINGER": ("DERRINGER",),
    "SUBMACHINE GUN": ("SUBAMETRALLADORA",),
    "RECEIVER/FRAME": ("RECEPTOR/ARMAZON",),
    "UNKNOWN": ("DESCONOCIDO",),
}

# Values that say a serial number is not there (export-formats.md), as written by requesters.
SERIAL_MISSING = ("", "NONE", "N/A", "S/N", "SIN NUMERO", "UNKNOWN", "NO VISIBLE", "sin numero", "Sin Número")
SERIAL_REMOVAL = ("OBLITERATED", "BORRADO", "LIMADO", "RAYADO", "GROUND OFF", "Limado", "borrado")
SERIAL_FILLER = ("XXXX", "XXXXXX", "****", "******", "0000", "000000", "1111", "AAAAA", "99999")

# --------------------------------------------------------------------------------------
# Mexico
# --------------------------------------------------------------------------------------
# (INEGI code, name, weight of recoveries, cities with weights, alias spellings)
MEXICAN_STATES: tuple[tuple, ...] = (
    ("01", "Aguascalientes", 0.3, (("Aguascalientes", 1.0),), ()),
    ("02", "Baja California", 8.0, (("Tijuana", 6), ("Mexicali", 3), ("Ensenada", 1.5), ("Tecate", 0.5)), ()),
    ("03", "Baja California Sur", 0.3, (("La Paz", 1), ("Cabo San Lucas", 0.6)), ()),
    ("04", "Campeche", 0.3, (("Campeche", 1), ("Ciudad del Carmen", 1)), ()),
    ("05", "Coahuila", 3.0, (("Torreón", 3), ("Saltillo", 2), ("Piedras Negras", 2), ("Monclova", 1), ("Ciudad Acuña", 1)), ("Coahuila de Zaragoza",)),
    ("06", "Colima", 0.5, (("Colima", 1), ("Manzanillo", 1), ("Tecomán", 0.6)), ()),
    ("07", "Chiapas", 0.7, (("Tuxtla Gutiérrez", 1), ("Tapachula", 1)), ()),
    ("08", "Chihuahua", 12.0, (("Ciudad Juárez", 7), ("Chihuahua", 3), ("Cuauhtémoc", 1), ("Hidalgo del Parral", 1), ("Nuevo Casas Grandes", 0.7), ("Ojinaga", 0.5)), ()),
    ("09", "Distrito Federal", 4.0, (("Ciudad de México", 4), ("Iztapalapa", 1), ("Gustavo A. Madero", 1)), ("Ciudad de México", "D.F.", "DF")),
    ("10", "Durango", 3.0, (("Durango", 2), ("Gómez Palacio", 2), ("Lerdo", 0.5)), ()),
    ("11", "Guanajuato", 0.8, (("León", 2), ("Celaya", 1), ("Irapuato", 1)), ()),
    ("12", "Guerrero", 7.0, (("Acapulco", 4), ("Chilpancingo", 1.5), ("Iguala", 1.5), ("Zihuatanejo", 0.7)), ()),
    ("13", "Hidalgo", 0.3, (("Pachuca", 1),), ()),
    ("14", "Jalisco", 6.0, (("Guadalajara", 5), ("Zapopan", 2), ("Tlaquepaque", 1), ("Puerto Vallarta", 1)), ()),
    ("15", "México", 3.0, (("Toluca", 2), ("Ecatepec", 2), ("Nezahualcóyotl", 1), ("Naucalpan", 1)), ("Estado de México", "Edo. de México")),
    ("16", "Michoacán", 7.0, (("Morelia", 3), ("Uruapan", 2), ("Apatzingán", 2), ("Lázaro Cárdenas", 1), ("Zamora", 1)), ("Michoacán de Ocampo",)),
    ("17", "Morelos", 1.0, (("Cuernavaca", 2), ("Cuautla", 1)), ()),
    ("18", "Nayarit", 1.0, (("Tepic", 2), ("Santiago Ixcuintla", 0.5)), ()),
    ("19", "Nuevo León", 6.0, (("Monterrey", 5), ("Guadalupe", 1.5), ("San Nicolás de los Garza", 1.5), ("Apodaca", 1), ("Sabinas Hidalgo", 0.5)), ()),
    ("20", "Oaxaca", 0.7, (("Oaxaca de Juárez", 1), ("Juchitán", 0.5)), ()),
    ("21", "Puebla", 0.6, (("Puebla", 2), ("Tehuacán", 0.5)), ()),
    ("22", "Querétaro", 0.3, (("Querétaro", 1),), ()),
    ("23", "Quintana Roo", 0.5, (("Cancún", 2), ("Chetumal", 1)), ()),
    ("24", "San Luis Potosí", 1.5, (("San Luis Potosí", 2), ("Ciudad Valles", 1), ("Matehuala", 0.5)), ()),
    ("25", "Sinaloa", 10.0, (("Culiacán", 6), ("Mazatlán", 2), ("Los Mochis", 1.5), ("Guasave", 1), ("Navolato", 1)), ()),
    ("26", "Sonora", 7.0, (("Hermosillo", 2), ("Nogales", 2), ("San Luis Río Colorado", 1.5), ("Ciudad Obregón", 1.5), ("Agua Prieta", 1), ("Caborca", 0.5)), ()),
    ("27", "Tabasco", 0.5, (("Villahermosa", 1),), ()),
    ("28", "Tamaulipas", 14.0, (("Reynosa", 4), ("Nuevo Laredo", 4), ("Matamoros", 3), ("Ciudad Victoria", 1.5), ("Tampico", 1.5), ("Miguel Alemán", 0.7)), ()),
    ("29", "Tlaxcala", 0.2, (("Tlaxcala", 1), ("Apizaco", 0.5)), ()),
    ("30", "Veracruz", 2.0, (("Veracruz", 2), ("Xalapa", 1), ("Coatzacoalcos", 1), ("Poza Rica", 1)), ("Veracruz de Ignacio de la Llave",)),
    ("31", "Yucatán", 0.2, (("Mérida", 1),), ()),
    ("32", "Zacatecas", 2.0, (("Zacatecas", 1.5), ("Fresnillo", 1.5)), ()),
)

MX_AGENCIES = (("PGR", 40), ("SEDENA", 25), ("SEMAR", 5), ("SSP", 8), ("PGR-AIC", 6), ("FGR", 2), ("ATF MEXICO CITY", 8), ("ATF MONTERREY", 3), ("ATF GUADALAJARA", 3))
US_AGENCIES = (  # federal requesters; local police are named after the city of recovery
    ("ATF", 20), ("HSI", 8), ("CBP", 6), ("DEA", 3), ("FBI", 3), ("US MARSHALS SERVICE", 2),
)
ZZ_AGENCIES = (("ATF", 5), ("INTERPOL", 2), ("HSI", 2))

# --------------------------------------------------------------------------------------
# US states: licensing codes, dealers, places
# --------------------------------------------------------------------------------------
# code: (region, districts, number of counties (odd FIPS codes 001..2n-1 when no list),
#        type 01+02 licensees in Sept. 2014 (relative, border states exact),
#        weight as a source state of traced firearms (TX CA AZ are set exactly),
#        phone area codes)
STATES: dict[str, tuple] = {
    "AL": (1, ("63",), 67, 1300, 1.2, ("205", "256", "334", "251")),
    "AK": (9, ("92",), 0, 500, 0.15, ("907",)),
    "AZ": (9, ("86",), 15, 1550, 0.0, ("602", "520", "480", "928", "623")),
    "AR": (5, ("71",), 75, 900, 0.8, ("501", "479", "870")),
    "CA": (9, ("33", "68"), 58, 2000, 0.0, ("213", "619", "760", "916", "951", "209", "530")),
    "CO": (9, ("84",), 64, 1300, 1.8, ("303", "719", "970")),
    "CT": (6, ("06",), 8, 300, 0.2, ("203", "860")),
    "DE": (8, ("51",), 3, 90, 0.1, ("302",)),
    "DC": (8, ("52",), 1, 3, 0.02, ("202",)),
    "FL": (1, ("59", "65"), 67, 2900, 3.0, ("305", "407", "813", "904", "954")),
    "GA": (1, ("58",), 159, 1700, 1.8, ("404", "478", "706", "912")),
    "HI": (9, ("99",), 5, 60, 0.03, ("808",)),
    "ID": (9, ("82",), 44, 700, 0.4, ("208",)),
    "IL": (3, ("36", "37"), 102, 1500, 1.8, ("312", "217", "618", "815")),
    "IN": (4, ("35",), 92, 1500, 0.9, ("317", "219", "812")),
    "IA": (3, ("42",), 99, 1100, 0.4, ("515", "319", "712")),
    "KS": (3, ("48",), 105, 950, 0.8, ("316", "785", "913")),
    "KY": (4, ("61",), 120, 1200, 0.7, ("502", "606", "859")),
    "LA": (5, ("72",), 64, 1100, 1.0, ("504", "225", "318", "337")),
    "ME": (6, ("01",), 16, 550, 0.1, ("207",)),
    "MD": (8, ("52",), 24, 450, 0.3, ("410", "301")),
    "MA": (6, ("04",), 14, 350, 0.1, ("413", "508", "617")),
    "MI": (4, ("38",), 83, 2300, 0.8, ("313", "517", "616", "906")),
    "MN": (3, ("41",), 87, 1500, 0.4, ("612", "218", "507")),
    "MS": (5, ("64",), 82, 800, 0.6, ("601", "662", "228")),
    "MO": (3, ("43",), 115, 1800, 0.9, ("314", "417", "573", "816")),
    "MT": (9, ("81",), 56, 800, 0.2, ("406",)),
    "NE": (3, ("47",), 93, 600, 0.4, ("402", "308")),
    "NV": (9, ("88",), 17, 450, 2.0, ("702", "775")),
    "NH": (6, ("02",), 10, 400, 0.1, ("603",)),
    "NJ": (8, ("22",), 21, 300, 0.1, ("201", "609", "732")),
    "NM": (5, ("85",), 33, 684, 2.2, ("505", "575")),
    "NY": (6, ("11", "14", "16"), 62, 2100, 0.3, ("518", "716", "315", "631")),
    "NC": (1, ("56",), 100, 1900, 1.2, ("919", "704", "336", "910")),
    "ND": (3, ("45",), 53, 420, 0.1, ("701",)),
    "OH": (4, ("34",), 88, 2600, 1.0, ("216", "440", "614", "513", "330")),
    "OK": (5, ("73",), 77, 1200, 1.9, ("405", "918", "580")),
    "OR": (9, ("93",), 36, 1100, 0.9, ("503", "541")),
    "PA": (8, ("25",), 67, 3300, 0.8, ("215", "412", "717", "814")),
    "RI": (6, ("05",), 5, 70, 0.05, ("401",)),
    "SC": (1, ("57",), 46, 1000, 0.8, ("803", "843", "864")),
    "SD": (3, ("46",), 66, 450, 0.1, ("605",)),
    "TN": (1, ("62",), 95, 1500, 1.0, ("615", "901", "423", "865")),
    "TX": (5, ("74", "75", "76"), 254, 5900, 0.0, ("210", "214", "512", "713", "915", "956", "817")),
    "UT": (9, ("87",), 29, 650, 0.7, ("801", "435")),
    "VT": (6, ("03",), 14, 300, 0.05, ("802",)),
    "VA": (8, ("54",), 95, 1700, 0.8, ("804", "540", "703", "757")),
    "WA": (9, ("91",), 39, 1300, 1.4, ("206", "253", "360", "509")),
    "WV": (4, ("55",), 55, 700, 0.3, ("304",)),
    "WI": (3, ("39",), 72, 1800, 0.4, ("414", "608", "715", "920")),
    "WY": (9, ("83",), 23, 450, 0.2, ("307",)),
    # territories: in the listing, never a source of the traced firearms here
    "PR": (1, ("66",), 0, 120, -1, ("787", "939")),
    "VI": (1, ("66",), 0, 10, -1, ("340",)),
    "GU": (9, ("99",), 0, 20, -1, ("671",)),
}
BORDER_STATES = ("AZ", "CA", "NM", "TX")
SOURCE_STATES = tuple(s for s, v in STATES.items() if v[4] >= 0)  # 50 states + DC

# ZIP code 3-digit prefixes per state (used when a city carries no ZIP of its own).
ZIP3 = {
    "AL": (350, 369), "AK": (995, 999), "AZ": (850, 865), "AR": (716, 729), "CA": (900, 961),
    "CO": (800, 816), "CT": (60, 69), "DE": (197, 199), "DC": (200, 205), "FL": (320, 349),
    "GA": (300, 319), "HI": (967, 968), "ID": (832, 838), "IL": (600, 629), "IN": (460, 479),
    "IA": (500, 528), "KS": (660, 679), "KY": (400, 427), "LA": (700, 714), "ME": (39, 49),
    "MD": (206, 219), "MA": (10, 27), "MI": (480, 499), "MN": (550, 567), "MS": (386, 397),
    "MO": (630, 658), "MT": (590, 599), "NE": (680, 693), "NV": (889, 898), "NH": (30, 38),
    "NJ": (70, 89), "NM": (870, 884), "NY": (100, 149), "NC": (270, 289), "ND": (580, 588),
    "OH": (430, 459), "OK": (730, 749), "OR": (970, 979), "PA": (150, 196), "RI": (28, 29),
    "SC": (290, 299), "SD": (570, 577), "TN": (370, 385), "TX": (750, 799), "UT": (840, 847),
    "VT": (50, 59), "VA": (220, 246), "WA": (980, 994), "WV": (247, 268), "WI": (530, 549),
    "WY": (820, 831), "PR": (6, 9), "VI": (8, 8), "GU": (969, 969),
}

# Cities: state -> ((city, county FIPS, ZIP, district or ""), ...). Where the listing
# sample shows a city, its county, ZIP and district are the sample's.
CITIES: dict[str, tuple] = {
    "AL": (("BIRMINGHAM", "073", "35203", ""), ("HUNTSVILLE", "089", "35801", ""), ("MOBILE", "097", "36602", ""), ("MONTGOMERY", "101", "36104", ""), ("DOTHAN", "069", "36301", ""), ("CULLMAN", "043", "35055", "")),
    "AK": (("ANCHORAGE", "020", "99501", ""), ("FAIRBANKS", "090", "99701", ""), ("JUNEAU", "110", "99801", ""), ("KETCHIKAN", "130", "99901", ""), ("SITKA", "220", "99835", ""), ("NOME", "180", "99762", ""), ("DELTA JUNCTION", "240", "99737", ""), ("WASILLA", "170", "99654", "")),
    "AZ": (("PHOENIX", "013", "85003", ""), ("MESA", "013", "85201", ""), ("GLENDALE", "013", "85301", ""), ("SCOTTSDALE", "013", "85251", ""), ("TUCSON", "019", "85705", ""), ("YUMA", "027", "85364", ""), ("NOGALES", "023", "85621", ""), ("SIERRA VISTA", "003", "85635", ""), ("DOUGLAS", "003", "85607", ""), ("FLAGSTAFF", "005", "86001", ""), ("PRESCOTT", "025", "86301", ""), ("KINGMAN", "015", "86401", ""), ("CASA GRANDE", "021", "85122", ""), ("LAKE HAVASU CITY", "015", "86403", "")),
    "AR": (("LITTLE ROCK", "119", "72201", ""), ("FORT SMITH", "131", "72901", ""), ("JONESBORO", "031", "72401", ""), ("FAYETTEVILLE", "143", "72701", ""), ("HOT SPRINGS", "051", "71901", "")),
    "CA": (("SAN DIEGO", "073", "92101", "33"), ("VISTA", "073", "92081", "33"), ("SANTEE", "073", "92071", "33"), ("EL CENTRO", "025", "92243", "33"), ("CALEXICO", "025", "92231", "33"), ("INDIO", "065", "92201", "33"), ("PALM SPRINGS", "065", "92262", "33"), ("RIVERSIDE", "065", "92501", "33"), ("SAN BERNARDINO", "071", "92401", "33"), ("YUCCA VALLEY", "071", "92284", "33"), ("LOS ANGELES", "037", "90012", "33"), ("LONG BEACH", "037", "90802", "33"), ("SANTA ANA", "059", "92701", "33"), ("BAKERSFIELD", "029", "93301", "33"), ("FRESNO", "019", "93721", "68"), ("SACRAMENTO", "067", "95814", "68"), ("RANCHO CORDOVA", "067", "95670", "68"), ("ROSEVILLE", "061", "95661", "68"), ("PLACERVILLE", "017", "95667", "68"), ("WOODLAND", "113", "95695", "68"), ("VACAVILLE", "095", "95687", "68"), ("JACKSON", "005", "95642", "68"), ("REDDING", "089", "96001", "68"), ("SAN JOSE", "085", "95113", "68"), ("OAKLAND", "001", "94607", "68")),
    "CO": (("DENVER", "031", "80202", ""), ("COLORADO SPRINGS", "041", "80903", ""), ("GRAND JUNCTION", "077", "81501", ""), ("PUEBLO", "101", "81003", ""), ("FORT COLLINS", "069", "80521", "")),
    "CT": (("HARTFORD", "003", "06103", ""), ("NEW HAVEN", "009", "06510", ""), ("DANBURY", "001", "06810", "")),
    "DE": (("WILMINGTON", "003", "19801", ""), ("DOVER", "001", "19901", ""), ("GEORGETOWN", "005", "19947", "")),
    "DC": (("WASHINGTON", "001", "20001", ""),),
    "FL": (("JACKSONVILLE", "031", "32202", "59"), ("TALLAHASSEE", "073", "32301", "59"), ("ORLANDO", "095", "32801", "59"), ("TAMPA", "057", "33602", "59"), ("MIAMI", "086", "33130", "65"), ("FORT LAUDERDALE", "011", "33301", "65"), ("WEST PALM BEACH", "099", "33401", "65"), ("FORT MYERS", "071", "33901", "65")),
    "GA": (("ATLANTA", "121", "30303", ""), ("SAVANNAH", "051", "31401", ""), ("MACON", "021", "31201", ""), ("AUGUSTA", "245", "30901", ""), ("DALTON", "313", "30720", "")),
    "HI": (("HONOLULU", "003", "96813", ""), ("HILO", "001", "96720", "")),
    "ID": (("BOISE", "001", "83702", ""), ("IDAHO FALLS", "019", "83402", ""), ("COEUR D ALENE", "055", "83814", "")),
    "IL": (("CHICAGO", "031", "60601", "36"), ("ROCKFORD", "201", "61101", "36"), ("SPRINGFIELD", "167", "62701", "37"), ("PEORIA", "143", "61602", "37"), ("MARION", "199", "62959", "37")),
    "IN": (("INDIANAPOLIS", "097", "46204", ""), ("FORT WAYNE", "003", "46802", ""), ("EVANSVILLE", "163", "47708", ""), ("GARY", "089", "46402", "")),
    "IA": (("DES MOINES", "153", "50309", ""), ("CEDAR RAPIDS", "113", "52401", ""), ("SIOUX CITY", "193", "51101", "")),
    "KS": (("WICHITA", "173", "67202", ""), ("TOPEKA", "177", "66603", ""), ("DODGE CITY", "057", "67801", ""), ("GARDEN CITY", "055", "67846", "")),
    "KY": (("LOUISVILLE", "111", "40202", ""), ("LEXINGTON", "067", "40507", ""), ("BOWLING GREEN", "227", "42101", ""), ("PIKEVILLE", "195", "41501", "")),
    "LA": (("SHREVEPORT", "017", "71115", ""), ("BOSSIER CITY", "015", "71111", ""), ("MONROE", "073", "71201", ""), ("BATON ROUGE", "033", "70801", ""), ("NEW ORLEANS", "071", "70112", ""), ("LAFAYETTE", "055", "70501", ""), ("LAKE CHARLES", "019", "70601", "")),
    "ME": (("PORTLAND", "005", "04101", ""), ("BANGOR", "019", "04401", ""), ("AUGUSTA", "011", "04330", "")),
    "MD": (("BALTIMORE", "510", "21202", ""), ("FREDERICK", "021", "21701", ""), ("HAGERSTOWN", "043", "21740", ""), ("SALISBURY", "045", "21801", "")),
    "MA": (("AGAWAM", "013", "01001", ""), ("CHICOPEE", "013", "01013", ""), ("BELCHERTOWN", "015", "01007", ""), ("WORCESTER", "027", "01608", ""), ("BOSTON", "025", "02108", "")),
    "MI": (("DETROIT", "163", "48226", ""), ("GRAND RAPIDS", "081", "49503", ""), ("LANSING", "065", "48933", ""), ("MARQUETTE", "103", "49855", ""), ("FLINT", "049", "48502", "")),
    "MN": (("MINNEAPOLIS", "053", "55401", ""), ("SAINT PAUL", "123", "55101", ""), ("DULUTH", "137", "55802", ""), ("ROCHESTER", "109", "55901", "")),
    "MS": (("JACKSON", "049", "39201", ""), ("GULFPORT", "047", "39501", ""), ("TUPELO", "081", "38801", ""), ("HATTIESBURG", "035", "39401", "")),
    "MO": (("SAINT LOUIS", "510", "63101", ""), ("KANSAS CITY", "095", "64106", ""), ("SPRINGFIELD", "077", "65806", ""), ("JOPLIN", "097", "64801", "")),
    "MT": (("BILLINGS", "111", "59101", ""), ("MISSOULA", "063", "59802", ""), ("GREAT FALLS", "013", "59401", "")),
    "NE": (("OMAHA", "055", "68102", ""), ("LINCOLN", "109", "68508", ""), ("NORTH PLATTE", "111", "69101", "")),
    "NV": (("LAS VEGAS", "003", "89101", ""), ("HENDERSON", "003", "89002", ""), ("RENO", "031", "89501", ""), ("ELKO", "007", "89801", "")),
    "NH": (("MANCHESTER", "011", "03101", ""), ("CONCORD", "013", "03301", ""), ("KEENE", "005", "03431", "")),
    "NJ": (("TRENTON", "021", "08608", ""), ("NEWARK", "013", "07102", ""), ("TOMS RIVER", "029", "08753", "")),
    "NM": (("ALBUQUERQUE", "001", "87102", ""), ("LAS CRUCES", "013", "88001", ""), ("SANTA FE", "049", "87506", ""), ("ROSWELL", "005", "88201", ""), ("FARMINGTON", "045", "87401", ""), ("DEMING", "029", "88030", ""), ("SOCORRO", "053", "87801", ""), ("ESPANOLA", "039", "87532", ""), ("TAOS", "055", "87571", ""), ("HOBBS", "025", "88240", ""), ("RATON", "007", "87740", "")),
    "NY": (("ALBANY", "001", "12207", "11"), ("BUFFALO", "029", "14202", "16"), ("ROCHESTER", "055", "14604", "16"), ("SYRACUSE", "067", "13202", "14"), ("WATERTOWN", "045", "13601", "14")),
    "NC": (("CHARLOTTE", "119", "28202", ""), ("RALEIGH", "183", "27601", ""), ("GREENSBORO", "081", "27401", ""), ("FAYETTEVILLE", "051", "28301", ""), ("ASHEVILLE", "021", "28801", "")),
    "ND": (("BISMARCK", "015", "58501", ""), ("FARGO", "017", "58102", ""), ("MINOT", "101", "58701", "")),
    "OH": (("MENTOR", "085", "44060", ""), ("WILLOUGHBY", "085", "44094", ""), ("LORAIN", "093", "44053", ""), ("TWINSBURG", "153", "44087", ""), ("CLEVELAND", "035", "44113", ""), ("TOLEDO", "095", "43604", ""), ("COLUMBUS", "049", "43215", ""), ("CINCINNATI", "061", "45202", ""), ("DAYTON", "113", "45402", "")),
    "OK": (("OKLAHOMA CITY", "109", "73102", ""), ("TULSA", "143", "74103", ""), ("LAWTON", "031", "73501", ""), ("ENID", "047", "73701", "")),
    "OR": (("PORTLAND", "051", "97204", ""), ("EUGENE", "039", "97401", ""), ("MEDFORD", "029", "97501", ""), ("BEND", "017", "97701", "")),
    "PA": (("MEADVILLE", "039", "16335", ""), ("KITTANNING", "005", "16201", ""), ("OIL CITY", "121", "16301", ""), ("SHARON", "085", "16146", ""), ("PITTSBURGH", "003", "15222", ""), ("ERIE", "049", "16501", ""), ("HARRISBURG", "043", "17101", ""), ("PHILADELPHIA", "101", "19107", ""), ("ALLENTOWN", "077", "18101", ""), ("SCRANTON", "069", "18503", "")),
    "RI": (("PROVIDENCE", "007", "02903", ""), ("WARWICK", "003", "02886", "")),
    "SC": (("COLUMBIA", "079", "29201", ""), ("CHARLESTON", "019", "29401", ""), ("GREENVILLE", "045", "29601", "")),
    "SD": (("SIOUX FALLS", "099", "57104", ""), ("RAPID CITY", "103", "57701", "")),
    "TN": (("NASHVILLE", "037", "37203", ""), ("MEMPHIS", "157", "38103", ""), ("KNOXVILLE", "093", "37902", ""), ("CHATTANOOGA", "065", "37402", "")),
    "TX": (("HOUSTON", "201", "77002", "76"), ("KATY", "157", "77493", "76"), ("SUGAR LAND", "157", "77478", "76"), ("PASADENA", "201", "77506", "76"), ("BEAUMONT", "245", "77701", "76"), ("DALLAS", "113", "75201", "75"), ("FORT WORTH", "439", "76102", "75"), ("GRAPEVINE", "439", "76051", "75"), ("GRANBURY", "221", "76048", "75"), ("LUBBOCK", "303", "79401", "75"), ("AMARILLO", "375", "79101", "75"), ("ODESSA", "135", "79761", "75"), ("TYLER", "423", "75702", "75"), ("SAN ANTONIO", "029", "78205", "74"), ("AUSTIN", "453", "78701", "74"), ("EL PASO", "141", "79901", "74"), ("LAREDO", "479", "78040", "74"), ("MCALLEN", "215", "78501", "74"), ("BROWNSVILLE", "061", "78520", "74"), ("HARLINGEN", "061", "78550", "74"), ("CORPUS CHRISTI", "355", "78401", "74"), ("DEL RIO", "465", "78840", "74"), ("EAGLE PASS", "323", "78852", "74"), ("SAN ANGELO", "451", "76903", "74"), ("WHARTON", "481", "77488", "74"), ("SEALY", "015", "77474", "74")),
    "UT": (("SALT LAKE CITY", "035", "84101", ""), ("OGDEN", "057", "84401", ""), ("PROVO", "049", "84601", ""), ("ST GEORGE", "053", "84790", "")),
    "VT": (("BURLINGTON", "007", "05401", ""), ("RUTLAND", "021", "05701", "")),
    "VA": (("RICHMOND", "760", "23219", ""), ("ROANOKE", "770", "24011", ""), ("NORFOLK", "710", "23510", ""), ("WINCHESTER", "840", "22601", "")),
    "WA": (("SEATTLE", "033", "98104", ""), ("TACOMA", "053", "98402", ""), ("SPOKANE", "063", "99201", ""), ("YAKIMA", "077", "98901", ""), ("PORT ORCHARD", "035", "98366", ""), ("PORT ANGELES", "009", "98362", ""), ("SNOHOMISH", "061", "98296", "")),
    "WV": (("CHARLESTON", "039", "25301", ""), ("HUNTINGTON", "011", "25701", ""), ("MORGANTOWN", "061", "26505", "")),
    "WI": (("MILWAUKEE", "079", "53202", ""), ("MADISON", "025", "53703", ""), ("GREEN BAY", "009", "54301", ""), ("EAU CLAIRE", "035", "54701", "")),
    "WY": (("CHEYENNE", "021", "82001", ""), ("CASPER", "025", "82601", ""), ("GILLETTE", "005", "82716", "")),
    "PR": (("SAN JUAN", "127", "00907", ""), ("BAYAMON", "021", "00956", ""), ("CAROLINA", "031", "00986", ""), ("PONCE", "113", "00717", ""), ("CAGUAS", "025", "00726", ""), ("MAYAGUEZ", "097", "00682", ""), ("AGUADILLA", "005", "00603", ""), ("ARECIBO", "013", "00612", "")),
    "VI": (("ST THOMAS", "030", "00802", ""), ("CHRISTIANSTED", "010", "00820", ""), ("FREDERIKSTED", "010", "00840", "")),
    "GU": (("HAGATNA", "010", "96910", ""), ("TAMUNING", "010", "96913", "")),
}

# Southbound seizures: (location, state, weight). Ports of entry and inland cities.
SEIZURE_LOCATIONS = (  # (location, state, weight, investigating office)
    ("LAREDO", "TX", 12, "LRD"), ("EL PASO", "TX", 10, "ELP"), ("BROWNSVILLE", "TX", 6, "HRL"),
    ("HIDALGO", "TX", 5, "MCA"), ("PHARR", "TX", 3, "MCA"), ("EAGLE PASS", "TX", 3, "DRT"),
    ("DEL RIO", "TX", 2, "DRT"), ("ROMA", "TX", 1, "MCA"), ("PRESIDIO", "TX", 1, "ELP"),
    ("HOUSTON", "TX", 5, "HOU"), ("SAN ANTONIO", "TX", 3, "SNA"),
    ("NOGALES", "AZ", 8, "NOG"), ("DOUGLAS", "AZ", 4, "DGL"), ("SAN LUIS", "AZ", 3, "YUM"),
    ("LUKEVILLE", "AZ", 2, "TUC"), ("PHOENIX", "AZ", 5, "PHX"), ("TUCSON", "AZ", 4, "TUC"),
    ("SAN YSIDRO", "CA", 6, "SND"), ("OTAY MESA", "CA", 4, "SND"), ("CALEXICO", "CA", 3, "CXL"),
    ("TECATE", "CA", 1, "SND"), ("LOS ANGELES", "CA", 2, "LAX"),
    ("COLUMBUS", "NM", 2, "DEM"), ("SANTA TERESA", "NM", 2, "ELP"), ("ALBUQUERQUE", "NM", 1, "ABQ"),
)
SEIZURE_OTHER_DESTINATIONS = (("GT", 4), ("HN", 3), ("SV", 2), ("BZ", 1), ("CO", 1))
SEIZURE_OTHER_LOCATIONS = (("MIAMI", "FL", 4, "MIA"), ("HOUSTON", "TX", 3, "HOU"), ("NEW ORLEANS", "LA", 1, "NOL"), ("ATLANTA", "GA", 1, "ATL"))

# --------------------------------------------------------------------------------------
# People and businesses (fake, plausible)
# --------------------------------------------------------------------------------------
HISPANIC_LAST = (
    "GARCIA", "MARTINEZ", "RODRIGUEZ", "HERNANDEZ", "LOPEZ", "GONZALEZ", "PEREZ", "SANCHEZ",
    "RAMIREZ", "TORRES", "FLORES", "RIVERA", "GOMEZ", "DIAZ", "REYES", "MORALES", "CRUZ",
    "ORTIZ", "GUTIERREZ", "CHAVEZ", "RAMOS", "RUIZ", "ALVAREZ", "MENDOZA", "CASTILLO",
    "JIMENEZ", "MORENO", "ROMERO", "HERRERA", "MEDINA", "AGUILAR", "VARGAS", "GUZMAN",
    "SALAZAR", "ESTRADA", "CONTRERAS", "LUNA", "DOMINGUEZ", "TREVINO", "VILLARREAL",
    "SALINAS", "CAVAZOS", "GARZA", "SOLIS", "ZAMORA", "OCHOA", "ACOSTA", "VALDEZ",
)
ANGLO_LAST = (
    "SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "MILLER", "DAVIS", "WILSON", "ANDERSON",
    "TAYLOR", "THOMAS", "MOORE", "JACKSON", "WHITE", "HARRIS", "MARTIN", "THOMPSON", "YOUNG",
    "ALLEN", "KING", "WRIGHT", "SCOTT", "GREEN", "BAKER", "ADAMS", "NELSON", "HILL",
    "CAMPBELL", "MITCHELL", "ROBERTS", "CARTER", "PHILLIPS", "EVANS", "TURNER", "PARKER",
    "COLLINS", "EDWARDS", "STEWART", "MORRIS", "MURPHY", "COOK", "ROGERS", "REED", "BELL",
    "COOPER", "WARD", "COX", "HOWARD", "BROOKS", "GRAY", "WATSON", "HUGHES", "PRICE", "MYERS",
)
HISPANIC_FIRST = (
    "JOSE", "JUAN", "LUIS", "CARLOS", "JESUS", "MIGUEL", "JORGE", "FRANCISCO", "ANTONIO",
    "ALEJANDRO", "RICARDO", "MANUEL", "FERNANDO", "RAUL", "ROBERTO", "EDUARDO", "ARTURO",
    "SERGIO", "JAVIER", "MARIO", "MARIA", "GUADALUPE", "ROSA", "ANA", "VERONICA", "LETICIA",
)
ANGLO_FIRST = (
    "JAMES", "JOHN", "ROBERT", "MICHAEL", "WILLIAM", "DAVID", "RICHARD", "JOSEPH", "THOMAS",
    "CHARLES", "CHRISTOPHER", "DANIEL", "MATTHEW", "ANTHONY", "MARK", "DONALD", "STEVEN",
    "PAUL", "ANDREW", "JOSHUA", "KENNETH", "KEVIN", "BRIAN", "GEORGE", "TIMOTHY", "RONALD",
    "JASON", "JEFFREY", "RYAN", "GARY", "MARY", "PATRICIA", "JENNIFER", "LINDA", "BARBARA",
    "ELIZABETH", "SUSAN", "JESSICA", "SARAH", "KAREN", "LISA", "NANCY",
)
STREET_NAMES = (
    "MAIN", "OAK", "PINE", "MAPLE", "CEDAR", "ELM", "WASHINGTON", "LAKE", "HILL", "PARK",
    "RIDGE", "CHURCH", "MILL", "COUNTY ROAD 12", "STATE HIGHWAY 59", "FARM ROAD 1017",
    "MESA", "CACTUS", "SAGUARO", "RIO GRANDE", "ALAMEDA", "EL CAMINO", "INDUSTRIAL",
    "COMMERCE", "MARKET", "CENTRAL", "BROADWAY", "JEFFERSON", "LINCOLN", "MADISON",
    "FRANKLIN", "HIGHLAND", "SUNSET", "VALLEY VIEW", "HICKORY", "WALNUT", "DOGWOOD",
    "MCDOWELL", "INDIAN SCHOOL", "MONTANA", "ZARAGOZA", "NOLANA", "SAN PEDRO", "NAVARRO",
)
STREET_SUFFIXES = ("ST", "AVE", "RD", "DR", "BLVD", "LN", "HWY", "PKWY", "WAY", "CT", "STREET", "ROAD", "AVENUE")
STREET_PREFIXES = ("", "", "", "N ", "S ", "E ", "W ")
BUSINESS_WORDS = (
    "GUNS", "GUN SHOP", "FIREARMS", "ARMORY", "OUTFITTERS", "SPORTING GOODS", "OUTDOORS",
    "PAWN", "PAWN & GUN", "TRADING POST", "HUNTING SUPPLY", "SHOOTING SPORTS", "TACTICAL",
    "ARMS", "GUNSMITHING", "SPORTSMAN SUPPLY", "HARDWARE", "FEED & SUPPLY",
)
COMPANY_SUFFIXES = ("LLC", "INC", "INC.", "CORP", "CO", "LTD")
# Chains whose many stores hold licenses; the mail address is the head office.
CHAINS = (
    ("ACADEMY, LTD", "ACADEMY SPORTS & OUTDOORS", "1800 N MASON RD", "KATY", "TX", "77449", "01"),
    ("CABELAS RETAIL INC", "CABELAS", "ONE CABELA DRIVE", "SIDNEY", "NE", "69160", "01"),
    ("WAL-MART STORES INC", "WALMART", "702 SW 8TH ST", "BENTONVILLE", "AR", "72716", "01"),
    ("SPORTSMANS WAREHOUSE INC", "SPORTSMANS WAREHOUSE", "7035 HIGH TECH DR", "MIDVALE", "UT", "84047", "01"),
    ("BASS PRO OUTDOOR WORLD LLC", "BASS PRO SHOPS", "2500 E KEARNEY ST", "SPRINGFIELD", "MO", "65898", "01"),
    ("GANDER MOUNTAIN CO", "GANDER MOUNTAIN", "180 E 5TH ST STE 1300", "SAINT PAUL", "MN", "55101", "01"),
    ("CASH AMERICA WEST INC", "SUPERPAWN", "1600 WEST 7TH STREET", "FORT WORTH", "TX", "76102", "02"),
    ("EZPAWN TEXAS INC", "EZPAWN", "1901 CAPITAL PARKWAY", "AUSTIN", "TX", "78746", "02"),
    ("FIRST CASH LTD", "FIRST CASH PAWN", "690 E LAMAR BLVD STE 400", "ARLINGTON", "TX", "76011", "02"),
    ("BIG 5 CORP", "BIG 5 SPORTING GOODS", "2525 E EL SEGUNDO BLVD", "EL SEGUNDO", "CA", "90245", "01"),
)
CHAIN_STATES = {  # where each chain has stores
    "ACADEMY, LTD": ("TX", "OK", "LA", "AR", "AL", "MS", "TN", "GA", "FL", "SC", "NC", "MO", "KS"),
    "CABELAS RETAIL INC": ("NE", "CO", "TX", "PA", "MN", "WI", "MI", "WA", "UT", "NV", "AZ", "NM", "ID", "MT"),
    "WAL-MART STORES INC": tuple(s for s in STATES if s not in ("PR", "VI", "GU", "DC")),
    "SPORTSMANS WAREHOUSE INC": ("UT", "ID", "MT", "WY", "CO", "AZ", "NM", "OR", "WA", "AK", "NV", "CA"),
    "BASS PRO OUTDOOR WORLD LLC": ("MO", "TX", "FL", "GA", "TN", "AZ", "NV", "LA", "AL", "MD"),
    "GANDER MOUNTAIN CO": ("MN", "WI", "MI", "OH", "PA", "NY", "IL", "IN", "TX", "FL"),
    "CASH AMERICA WEST INC": ("AZ", "NV", "CO", "UT", "WA", "OR", "CA", "NM"),
    "EZPAWN TEXAS INC": ("TX",),
    "FIRST CASH LTD": ("TX",),
    "BIG 5 CORP": ("CA", "AZ", "NM", "NV", "WA", "OR", "ID", "UT", "CO", "TX"),
}

# License types beside dealers (01) and pawnbrokers (02): per dealer+pawnbroker license.
OTHER_LICENSE_TYPES = (("03", 0.010), ("06", 0.030), ("07", 0.150), ("08", 0.017), ("09", 0.002), ("10", 0.006), ("11", 0.002))
PAWNBROKER_SHARE = 0.12  # of type 01+02 licenses
EXPIRY_LETTERS = "ABCDEFGHJKLM"  # January .. December, no I

# Licensee snapshots delivered: (MMYY, header style, file name suffix)
SNAPSHOTS = (
    ("0110", "title", ""),
    ("0111", "title", ""),
    ("0112", "upper", "-complete"),
    ("0113", "upper", "-complete"),
    ("0114", "upper", "-complete"),
    ("0914", "upper", ""),
    ("0115", "upper", "-complete"),
)
LICENSEE_HEADER = (
    "LIC_REGN", "LIC_DIST", "LIC_CNTY", "LIC_TYPE", "LIC_XPRDTE", "LIC_SEQN", "LICENSE_NAME",
    "BUSINESS_NAME", "PREMISE_STREET", "PREMISE_CITY", "PREMISE_STATE", "PREMISE_ZIP_CODE",
    "MAIL_STREET", "MAIL_CITY", "MAIL_STATE", "MAIL_ZIP_CODE", "VOICE_PHONE",
)
LICENSEE_HEADER_TITLE = (
    "Lic Regn", "Lic Dist", "Lic Cnty", "Lic Type", "Lic Xprdte", "Lic Seqn", "License Name",
    "Business Name", "Premise Street", "Premise City", "Premise State", "Premise Zip Code",
    "Mail Street", "Mail City", "Mail State", "Mail Zip Code", "Voice Phone",
)
