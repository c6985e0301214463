"""Word lists for the generator: names, streets, brands and product kinds of a bike,
electronics, music and appliance shop. Plain data, no logic."""
from __future__ import annotations

FIRST_NAMES = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
    "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Christopher", "Nancy", "Daniel", "Lisa", "Matthew", "Betty", "Anthony",
    "Margaret", "Mark", "Sandra", "Donald", "Ashley", "Steven", "Kimberly", "Paul", "Emily",
    "Andrew", "Donna", "Joshua", "Michelle", "Kenneth", "Carol", "Kevin", "Amanda", "Brian",
    "Dorothy", "George", "Melissa", "Timothy", "Deborah", "Ronald", "Stephanie", "Edward",
    "Rebecca", "Jason", "Sharon", "Jeffrey", "Laura", "Ryan", "Cynthia", "Jacob", "Kathleen",
    "Gary", "Amy", "Nicholas", "Angela", "Eric", "Shirley", "Jonathan", "Anna", "Stephen",
    "Brenda", "Larry", "Pamela", "Justin", "Emma", "Scott", "Nicole", "Brandon", "Helen",
    "Benjamin", "Samantha", "Samuel", "Katherine", "Gregory", "Christine", "Alexander",
    "Debra", "Frank", "Rachel", "Patrick", "Carolyn", "Raymond", "Janet", "Jack", "Catherine",
    "Dennis", "Maria", "Jerry", "Heather", "Tyler", "Diane", "Aaron", "Ruth", "Jose", "Julie",
    "Adam", "Olivia", "Nathan", "Joyce", "Henry", "Virginia", "Douglas", "Victoria", "Zachary",
    "Kelly", "Peter", "Lauren", "Kyle", "Christina", "Ethan", "Joan", "Walter", "Evelyn",
    "Noah", "Judith", "Jeremy", "Megan", "Christian", "Andrea", "Keith", "Cheryl", "Roger",
    "Hannah", "Terry", "Jacqueline", "Gerald", "Martha", "Harold", "Gloria", "Sean", "Teresa",
    "Austin", "Ann", "Carl", "Sara", "Arthur", "Madison", "Lawrence", "Frances", "Dylan",
    "Kathryn", "Jesse", "Janice", "Jordan", "Jean", "Bryan", "Abigail", "Billy", "Alice",
    "Joe", "Judy", "Bruce", "Sophia", "Gabriel", "Grace", "Logan", "Denise", "Albert", "Amber",
    "Willie", "Doris", "Alan", "Marilyn", "Juan", "Danielle", "Wayne", "Beverly", "Elijah",
    "Isabella", "Randy", "Theresa", "Roy", "Diana", "Vincent", "Natalie", "Ralph", "Brittany",
    "Eugene", "Charlotte", "Russell", "Marie", "Bobby", "Kayla", "Mason", "Alexis", "Philip",
    "Lori", "Louis", "José", "Zoë", "Renée", "Björn", "Søren", "Chloé", "Noël", "François",
    "Ingrid", "Mateo", "Lucía", "Aiko", "Kenji", "Priya", "Arjun", "Wei", "Mei", "Omar",
    "Fatima", "Yusuf", "Amara", "Kwame", "Nia", "Sven", "Astrid", "Luca", "Giulia",
)

LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans",
    "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris",
    "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson",
    "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson",
    "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes",
    "Price", "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster",
    "Jimenez", "Powell", "Jenkins", "Perry", "Russell", "Sullivan", "Bell", "Coleman", "Butler",
    "Henderson", "Barnes", "Gonzales", "Fisher", "Vasquez", "Simmons", "Romero", "Jordan",
    "Patterson", "Alexander", "Hamilton", "Graham", "Reynolds", "Griffin", "Wallace", "Moreno",
    "West", "Cole", "Hayes", "Bryant", "Herrera", "Gibson", "Ellis", "Tran", "Medina", "Aguilar",
    "Stevens", "Murray", "Ford", "Castro", "Marshall", "Owens", "Harrison", "Fernandez",
    "McDonald", "Woods", "Washington", "Kennedy", "Wells", "Vargas", "Henry", "Chen", "Freeman",
    "Webb", "Tucker", "Guzman", "Burns", "Crawford", "Olson", "Simpson", "Porter", "Hunter",
    "Gordon", "Mendez", "Silva", "Shaw", "Snyder", "Mason", "Dixon", "Muñoz", "Hunt", "Hicks",
    "Holmes", "Palmer", "Wagner", "Black", "Robertson", "Boyd", "Rose", "Stone", "Salazar",
    "Fox", "Warren", "Mills", "Meyer", "Rice", "Schmidt", "Garza", "Daniels", "Ferguson",
    "Nichols", "Stephens", "Soto", "Weaver", "Ryan", "Gardner", "Payne", "Grant", "Dunn",
    "Müller", "Schäfer", "Łukasiewicz", "Nowak", "Kowalski", "O'Brien", "O'Connor",
    "Van der Berg", "De Luca", "Rossi", "Bianchi", "Dubois", "Lefèvre", "Fontaine", "Jensen",
    "Hansen", "Larsen", "Lindqvist", "Yamamoto", "Tanaka", "Sato", "Nakamura", "Wang", "Zhang",
    "Liu", "Singh", "Sharma", "Gupta", "Okafor", "Mensah", "Haddad", "Khalil", "Novak",
    "Horvat", "Popescu", "Papadopoulos", "Ivanova", "Petrov", "Kovač", "Núñez", "García-López",
)

STREETS = (
    "Main St", "Oak Ave", "Maple St", "Cedar Rd", "Pine St", "Elm St", "Washington Ave",
    "Lake Dr", "Hill Rd", "Park Ave", "River Rd", "Church St", "Mill Ln", "Sunset Blvd",
    "Highland Ave", "Forest Dr", "Meadow Ln", "Spring St", "Union St", "Bridge Rd",
    "Station Rd", "Orchard Way", "Willow Ct", "Chestnut St", "Harbor View", "Vine St",
)

CITIES = (
    "Springfield", "Riverside", "Franklin", "Greenville", "Bristol", "Clinton", "Fairview",
    "Salem", "Madison", "Georgetown", "Arlington", "Ashland", "Burlington", "Manchester",
    "Milton", "Oxford", "Clayton", "Dover", "Hudson", "Kingston", "Marion", "Newport",
    "Lakewood", "Centerville", "Jackson", "Auburn", "Dayton", "Lexington", "Winchester",
)

EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com",
                 "proton.me", "aol.com", "mail.com", "fastmail.com", "example.org")

# Area codes the generated phones use (the 555 exchange is the fictional one).
AREA_CODES = (
    "201", "202", "203", "205", "206", "207", "208", "212", "213", "214", "215", "216", "217",
    "303", "305", "312", "313", "314", "315", "317", "401", "402", "404", "405", "406", "407",
    "408", "410", "412", "414", "415", "417", "503", "504", "505", "507", "508", "510", "512",
    "513", "515", "516", "517", "602", "603", "605", "606", "607", "608", "609", "612", "614",
    "615", "617", "702", "703", "704", "706", "707", "708", "712", "713", "714", "715", "716",
    "802", "803", "804", "805", "806", "808", "810", "812", "813", "814", "815", "816", "817",
    "901", "903", "904", "906", "907", "908", "910", "912", "913", "914", "915", "916", "917",
)

# Phone layouts as people type them; {a} area code, {e} exchange, {n} line number.
PHONE_FORMATS = (
    "({a}) {e}-{n}", "{a}-{e}-{n}", "{a}.{e}.{n}", "{a}{e}{n}", "{a} {e} {n}",
    "+1 {a} {e} {n}", "+1 ({a}) {e}-{n}", "1-{a}-{e}-{n}", "+1{a}{e}{n}",
)

# Vendors: (name, kind). Suppliers and manufacturers first, a few service shops last.
VENDOR_NAMES = (
    "Trek Bicycle Corp", "Specialized Bicycle Components", "Giant Bicycles", "Cannondale",
    "Santa Cruz Bicycles", "Scott Sports", "Cube Bikes", "Bianchi", "Shimano", "SRAM",
    "Samsung Electronics", "LG Electronics", "Sony", "TCL", "Hisense", "Panasonic", "Philips",
    "Lenovo", "Dell", "HP", "Apple", "Asus", "Acer", "Fender", "Gibson", "Yamaha", "Ibanez",
    "Martin Guitars", "Taylor Guitars", "Bosch", "Miele", "Whirlpool", "Siemens", "Electrolux",
    "Epson", "Star Micronics", "Zebra", "Honeywell", "Ingram Micro", "TD Synnex",
    "Quality Bicycle Products", "J&B Importers", "Olympia Cycle", "Alliance Entertainment",
    "Musicians Supply Co", "Appliance Parts Depot", "Marcone Supply", "Encompass Supply",
)
SERVICE_VENDORS = ("Precision Repair Center", "TV Panel Repair Lab", "Laptop Board Works",
                   "Luthier Workshop", "Appliance Service Pros", "Wheel Truing Shop")

# Product families: (code, product kind, serialized, brands, models, types, sizes, price range)
FAMILIES = (
    ("BIK", "goods", True,
     ("Trek", "Specialized", "Giant", "Cannondale", "Santa Cruz", "Scott", "Cube", "Bianchi"),
     ("Marlin", "Fuel", "Domane", "Émonda", "Stumpjumper", "Tarmac", "Rockhopper", "Talon",
      "Defy", "Trance", "Topstone", "Synapse", "Hightower", "Spark", "Aim", "Stereo", "Oltre",
      "Checkpoint", "Allez", "Escape", "Quick", "Bronson", "Reaction", "Infinito"),
     ("Mountain Bike", "Road Bike", "Gravel Bike", "E-Bike", "Hybrid Bike", "Kids Bike"),
     ('27.5"', '29"', "S", "M", "L", "XL", "52cm", "54cm", "56cm", "58cm"), (350, 9000)),
    ("TV", "goods", True,
     ("Samsung", "LG", "Sony", "TCL", "Hisense", "Panasonic", "Philips"),
     ("Crystal", "Neo QLED", "OLED evo", "Bravia", "QNED", "NanoCell", "Mini-LED", "Ambilight",
      "Frame", "ULED", "Viera", "XR"),
     ("OLED TV", "QLED TV", "LED TV", "4K Smart TV", "8K TV"),
     ('43"', '50"', '55"', '65"', '75"', '85"', '98"'), (250, 6000)),
    ("LAP", "goods", True,
     ("Lenovo", "Dell", "HP", "Apple", "Asus", "Acer"),
     ("ThinkPad", "IdeaPad", "XPS", "Latitude", "Inspiron", "EliteBook", "Pavilion", "Spectre",
      "MacBook Air", "MacBook Pro", "ZenBook", "VivoBook", "ROG", "Swift", "Aspire", "Yoga"),
     ("Laptop", "Notebook", "2-in-1", "Ultrabook", "Gaming Laptop"),
     ('13"', '14"', '15.6"', '16"', '17"', "16GB", "32GB", "512GB", "1TB"), (400, 4000)),
    ("GTR", "goods", True,
     ("Fender", "Gibson", "Yamaha", "Ibanez", "Martin", "Taylor", "PRS", "Gretsch"),
     ("Stratocaster", "Telecaster", "Les Paul", "SG", "Pacifica", "RG", "D-28", "814ce",
      "Custom 24", "Jazzmaster", "Jaguar", "Explorer", "Revstar", "Artcore"),
     ("Electric Guitar", "Acoustic Guitar", "Bass Guitar", "Classical Guitar"),
     ("Sunburst", "Black", "Natural", "Olympic White", "Cherry", "Left-handed"), (200, 5000)),
    ("APL", "goods", True,
     ("Bosch", "Miele", "Whirlpool", "Siemens", "Electrolux", "Samsung", "LG"),
     ("Serie 6", "Serie 8", "W1", "G7000", "iQ500", "PerfectCare", "Bespoke", "WashTower"),
     ("Washing Machine", "Dishwasher", "Fridge Freezer", "Tumble Dryer", "Oven", "Hob"),
     ("60cm", "45cm", "8kg", "9kg", "10kg", "A+++", "Stainless", "White"), (300, 3500)),
    ("POS", "goods", True,
     ("Epson", "Star", "Zebra", "Honeywell"),
     ("TM-T88VII", "TM-T20III", "TSP143", "mC-Print3", "ZD421", "Xenon", "Voyager", "DS2208"),
     ("Receipt Printer", "Label Printer", "Barcode Scanner", "Cash Drawer"),
     ("USB", "Ethernet", "Bluetooth", "Serial", "Black", "White"), (80, 900)),
    ("PRT", "part", False,
     ("Shimano", "SRAM", "Continental", "Schwalbe", "Samsung", "LG", "Dell", "HP", "Fender",
      "D'Addario", "Bosch", "Miele"),
     ("Deore", "XT", "GX Eagle", "Grand Prix", "Marathon", "OEM", "Original", "Genuine"),
     ("Brake Pad Set", "Chain 11-speed", "Cassette 12-speed", "Inner Tube", "Tyre",
      "Power Board", "T-Con Board", "Backlight Strip", "Remote Control", "Laptop Battery",
      "Keyboard", "Charger 65W", "Guitar Strings", "Pickup", "Tuning Pegs", "Drain Pump",
      "Door Seal", "Heating Element", "Carbon Brushes", "Print Head"),
     ("10-46", "29x2.4", "700x28c", "65W", "90W", "Left", "Right", "Set of 4", "Pair"), (3, 250)),
    ("ACC", "goods", False,
     ("Giro", "Bell", "Kryptonite", "Abus", "Belkin", "Anker", "Logitech", "Ernie Ball"),
     ("Pro", "Sport", "Urban", "Essential", "Premium", "Travel"),
     ("Helmet", "U-Lock", "Bike Light Set", "HDMI Cable", "Wall Mount", "Laptop Sleeve",
      "Mouse", "Guitar Strap", "Gig Bag", "Surge Protector"),
     ("S", "M", "L", "1m", "2m", "3m", "Black", "Red", "Blue"), (8, 180)),
    ("SVC", "service", False,
     ("Workshop",),
     ("Standard", "Premium", "Express"),
     ("Bike Tune-up", "Wheel True", "Brake Bleed", "TV Wall Install", "TV Calibration",
      "Laptop Data Transfer", "Laptop Clean-up", "Guitar Setup", "Guitar Refret",
      "Appliance Install", "Diagnostic"),
     ("30 min", "1 h", "2 h"), (20, 300)),
)

# How many products of each family, per 100 products.
FAMILY_WEIGHTS = (22, 14, 14, 8, 8, 4, 20, 8, 2)

DESCRIPTION_WORDS = (
    "lightweight", "durable", "carbon", "aluminium", "frame", "warranty", "two-year",
    "hydraulic", "disc", "brakes", "tubeless", "ready", "wireless", "HDR", "Dolby", "Vision",
    "Atmos", "refresh", "120Hz", "gaming", "mode", "backlit", "keyboard", "fingerprint",
    "reader", "solid", "spruce", "top", "mahogany", "neck", "rosewood", "fretboard", "quiet",
    "energy", "efficient", "steam", "programme", "quick", "wash", "auto-cutter", "thermal",
    "USB-C", "Bluetooth", "OEM", "replacement", "genuine", "compatible", "fits", "most",
    "models", "includes", "mounting", "kit", "manual", "in", "the", "box", "certified",
)

LOCATIONS = (("Main Street Store", "store"), ("Warehouse", "warehouse"),
             ("Service Van 1", "van"), ("Vendor RMA", "vendor"))
