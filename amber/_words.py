"""The word lists amber's name, username, address and text pseudonyms are drawn from.

Written for amber as plain data (no third-party generator): common United States given
names and surnames (public facts, after the public-domain frequency lists of the Social
Security Administration and the 2010 Census), and ordinary street names, street suffixes,
town names, state codes and English words. Every entry is ASCII letters only (a town name
spells its space as `_` here), sorted and unique, so a pseudonym is a pure function of the
key, its kind, its input and these lists: changing a list changes pseudonyms (see
`amber._pseudonym.PSEUDONYM_VERSION`).
"""

from __future__ import annotations

__all__ = ["CITIES", "FIRST_NAMES", "LAST_NAMES", "STATES", "STREETS", "STREET_SUFFIXES", "WORDS"]


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _split(
    """
Aaron Abby Abel Abigail Ada Adam Adele Adrian Agnes Alan Albert Alberta Alexa Alexander
Alexis Alfred Alfredo Alice Alisha Alison Allan Allison Alma Alonzo Alvin Alyssa Amanda
Amber Amos Amy Andre Andrea Andrew Andy Angel Angela Angelica Angie Anita Ann Anna Annette
Annie Anthony Antonio Ariel Arlene Arnold Arthur Arturo Ashley Aubrey Audra Audrey Austin
Autumn Ava Avery Barbara Barry Beatrice Beatriz Becky Ben Benjamin Bennett Bernard Bernice
Bert Bertha Beth Betsy Betty Beverly Bianca Billy Blake Blanche Bobbie Bobby Bonita Bonnie
Boyd Brad Bradley Brandi Brandon Brenda Brendan Brent Brett Brian Brianna Bridget Britney
Brittany Brooke Brooks Bruce Bryan Bryce Byron Caitlin Caleb Callie Calvin Cameron Camille
Candace Candice Carey Carl Carla Carlos Carlton Carmen Carol Caroline Carolyn Carrie Cary
Casey Cassandra Cassidy Catherine Cecil Cecilia Cesar Chad Charlene Charles Charlie
Charlotte Chelsea Cheryl Chester Cheyenne Chloe Chris Christian Christina Christine
Christopher Christy Claire Clara Clarence Clark Claude Claudia Clayton Clifford Clint Clyde
Cody Cole Colin Colleen Connie Conrad Cora Corey Cory Courtney Craig Cristina Crystal Curtis
Cynthia Cyrus Daisy Dakota Dale Dallas Damian Damon Dana Daniel Danielle Dante Darius Darla
Darlene Darrell Darren Daryl David Dawn Dean Deanna Deborah Debra Delbert Delia Della Denise
Dennis Derek Derrick Desiree Devin Dexter Diana Diane Diego Dolores Dominic Dominique Don
Donald Donna Donovan Dora Doris Dorothy Douglas Dustin Dwight Dylan Earl Ebony Eddie Edgar
Edith Edmund Edna Eduardo Edward Edwin Elaine Eleanor Elena Elias Elijah Elisa Elisabeth
Eliza Elizabeth Ella Ellen Ellie Elliot Ellis Elmer Eloise Elsie Elvira Emanuel Emil Emilio
Emily Emma Emmett Enrique Eric Erica Erik Erika Erin Erma Ernest Ernesto Ervin Esperanza
Estelle Esther Ethan Ethel Eugene Eugenia Eunice Eva Evelyn Everett Faith Fannie Felicia
Felix Fernando Fiona Flora Floyd Frances Francis Francisco Frank Fred Freda Frederick
Gabriel Gabriela Gail Garrett Gary Gavin Gene Geneva Genevieve George Gerald Geraldine
Gertrude Gilbert Gilberto Gina Ginger Gladys Glen Glenda Glenn Gloria Gordon Grace Grady
Grant Gregory Greta Guadalupe Gustavo Guy Gwen Gwendolyn Hailey Hank Hannah Harlan Harold
Harriet Harry Harvey Hattie Hazel Heather Hector Heidi Helen Henry Herbert Herman Hilda
Hollis Holly Homer Hope Howard Hugo Hunter Ian Ida Imogen Inez Ingrid Ira Irene Iris Irma
Isaac Isabel Isabella Isaiah Ivan Ivy Jack Jacob Jacqueline Jada Jaime Jake Jamal James
Jamie Jan Jane Janelle Janet Janice Jared Jasmine Jason Jasper Javier Jean Jeanette Jeanne
Jeannie Jeffrey Jenna Jennie Jennifer Jenny Jeremy Jerome Jerry Jesse Jessica Jessie Jill
Jillian Jimmie Joan Joanna Joanne Jocelyn Jodi Joe Joel Johanna John Johnny Jon Jonathan
Jordan Jorge Jose Josefina Joseph Josephine Joshua Josiah Joy Joyce Juan Juanita Judith Judy
Julia Julian Julie Juliet Julius June Justin Kaitlyn Kara Karen Kari Karl Kate Katherine
Kathleen Kathryn Katie Kay Kayden Kayla Keith Kelly Kelvin Kendra Kenneth Kent Kerry Kevin
Kimberly Kirk Kirsten Kristen Kristin Kristina Kristy Kurt Kyle Lamar Lana Lance Larry
Latoya Laura Lauren Laurie Lawrence Leah Lee Leigh Leila Leland Lena Leo Leon Leona Leonard
Leroy Leslie Lester Levi Lewis Lila Lillian Linda Lindsay Lindsey Lionel Lisa Lloyd Logan
Lola Lonnie Lorena Lorenzo Loretta Lori Lorraine Louis Louise Lucas Lucia Lucille Lucinda
Lucy Luis Luke Luther Luz Lydia Lyle Lynn Mabel Mackenzie Madison Mae Malcolm Mandy Manuel
Marc Marcella Marcia Marcos Marcus Margaret Margo Marguerite Maria Marian Marie Marilyn
Mario Marion Marisa Marjorie Mark Marlene Marlon Marshall Martha Martin Marvin Mary Mason
Matthew Mattie Maureen Maurice Max Maxine Maya Megan Melinda Melissa Melvin Meredith Merle
Mia Micah Michael Michelle Miguel Mildred Miles Milton Minnie Miriam Misty Mitch Mitchell
Molly Mona Monica Morgan Morris Myra Myrtle Nadia Nancy Naomi Natalie Nathan Nathaniel Neal
Neil Nellie Nelson Nettie Nicholas Nicole Nina Noah Noel Nolan Nora Norma Norman Olga Olive
Oliver Olivia Ollie Omar Opal Orlando Oscar Otis Owen Pablo Paige Pamela Parker Pat Patricia
Patrick Patsy Patty Paul Paula Pauline Pearl Pedro Peggy Penelope Percy Perry Peter Philip
Phillip Phyllis Preston Priscilla Quinn Rachael Rachel Rafael Ralph Ramon Randall Randy
Raquel Ray Raymond Rebecca Reed Regina Reginald Rene Renee Rex Rhonda Ricardo Richard Rick
Rickey Ricky Riley Rita Robert Roberta Roberto Robin Robyn Rochelle Rocky Rodney Rodolfo
Rogelio Roger Roland Ron Ronald Ronnie Rosa Rosalie Rose Rosemary Ross Roxanne Roy Ruben
Ruby Rudy Rufus Russell Ruth Ryan Ryder Sabrina Sadie Sally Salvador Sam Samantha Samuel
Sandra Sandy Santiago Sara Sarah Savannah Scott Sean Sergio Seth Shane Shannon Sharon Shawn
Shawna Sheila Shelby Sheldon Sherri Sherry Shirley Sidney Sierra Silas Simon Sonia Sonja
Sophia Sophie Spencer Stacey Stacy Stanley Stella Stephanie Stephen Steven Stewart Stuart
Sue Susan Sylvester Sylvia Tabitha Tamara Tammy Tanya Teresa Terrence Terri Terry Tessa
Thelma Theresa Thomas Tiffany Timothy Tina Toby Todd Tom Tomas Tommy Tony Tonya Traci Tracy
Travis Trevor Tristan Troy Tyler Tyrone Ursula Valentina Valerie Vanessa Vera Verna Vernon
Vicki Victor Victoria Vince Vincent Viola Violet Virgil Virginia Wade Wallace Walter Wanda
Warren Wayne Wendell Wendy Wesley Wilbur Willard William Willie Willis Wilma Winston Xavier
Yesenia Yolanda Yvonne Zachary Zoe
"""
)
"""810 given names, capitalized."""

LAST_NAMES = _split(
    """
Abbott Acevedo Acosta Adams Adkins Aguilar Aguirre Ahmed Alexander Alfaro Ali Allen Allison
Alvarado Alvarez Andersen Anderson Andrade Andrews Anthony Archer Arellano Arias Armstrong
Arnold Arroyo Ashley Atkins Atkinson Austin Avalos Avery Avila Ayala Ayers Bailey Baker
Baldwin Ball Ballard Banks Barajas Barber Barker Barnes Barnett Barr Barrera Barrett Barron
Barry Bartlett Barton Bass Bates Bauer Bautista Baxter Bean Beard Beasley Beck Becker Bell
Beltran Bender Benitez Benjamin Bennett Benson Bentley Benton Berg Berger Bernal Bernard
Berry Best Bishop Black Blackburn Blackwell Blair Blake Blanchard Blankenship Blevins Bond
Bonilla Booker Boone Booth Bowen Bowers Bowman Boyd Boyer Boyle Bradford Bradley Bradshaw
Brady Branch Brandt Bravo Brennan Brewer Bridges Briggs Brock Brooks Brown Browning Bruce
Bryan Bryant Buchanan Buck Buckley Bullock Burch Burgess Burke Burnett Burns Burton Bush
Butler Byrd Cabrera Cain Calderon Caldwell Calhoun Callahan Camacho Cameron Campbell Campos
Cannon Cano Cantrell Cantu Cardenas Carey Carlson Carpenter Carr Carrillo Carroll Carson
Carter Case Casey Castaneda Castillo Castro Cervantes Chambers Chan Chandler Chang Chapman
Charles Chase Chavez Chen Cherry Choi Christensen Christian Chung Church Cisneros Clark
Clarke Clay Clayton Clements Cline Cobb Cochran Coffey Cohen Cole Coleman Collier Collins
Colon Combs Compton Conley Conner Conrad Contreras Conway Cook Cooper Copeland Cordova
Corona Correa Cortes Cortez Costa Cox Craig Crane Crawford Crosby Cross Cruz Cuevas Cummings
Cunningham Curry Curtis Dalton Daniel Daniels Daugherty Davenport David Davidson Davila
Davis Dawson Day Dean Decker Dejesus Delacruz Delarosa Deleon Delgado Dennis Diaz Dickerson
Dickson Dillon Dixon Dodson Dominguez Donaldson Donovan Dorsey Dougherty Douglas Doyle Drake
Duarte Dudley Duffy Duke Duncan Dunlap Dunn Duran Durham Dyer Eaton Edwards Elliott Ellis
Ellison English Enriquez Erickson Escobar Esparza Espinosa Espinoza Esquivel Estes Estrada
Evans Everett Farley Farmer Farrell Faulkner Felix Ferguson Fernandez Fields Figueroa Finley
Fischer Fisher Fitzgerald Fitzpatrick Fleming Fletcher Flores Flowers Floyd Flynn Foley Ford
Foster Fowler Fox Francis Franco Frank Franklin Frazier Frederick Freeman French Friedman
Frost Fry Frye Fuentes Fuller Gaines Galindo Gallagher Gallegos Galvan Garcia Gardner Garner
Garrett Garrison Garza Gates Gentry George Gibbs Gibson Gilbert Giles Gill Gillespie Gilmore
Glass Glenn Glover Golden Gomez Gonzales Gonzalez Good Goodman Goodwin Gordon Gould Graham
Grant Graves Gray Green Greene Greer Gregory Griffin Griffith Grimes Gross Guerra Guerrero
Guevara Gutierrez Guzman Hahn Hale Haley Hall Hamilton Hammond Hampton Hancock Hanna Hansen
Hanson Hardin Harding Hardy Harmon Harper Harrell Harrington Harris Harrison Hart Hartman
Harvey Hawkins Hayden Hayes Haynes Heath Hebert Henderson Hendricks Hendrix Henry Hensley
Henson Herman Hernandez Herrera Herring Hess Hester Hickman Hicks Higgins Hill Hines Hinton
Ho Hobbs Hodge Hodges Hoffman Hogan Holland Holloway Holmes Holt Hood Hoover Hopkins Horn
Horne Horton House Houston Howard Howe Howell Huang Hubbard Huber Hudson Huerta Huff Huffman
Hughes Hull Humphrey Hunt Hunter Hurley Hurst Hutchinson Huynh Ibarra Ingram Jackson Jacobs
Jacobson James Jaramillo Jarvis Jefferson Jenkins Jennings Jensen Jimenez Johns Johnson
Johnston Jones Jordan Joseph Juarez Kane Kaur Keith Keller Kelley Kelly Kemp Kennedy Kent
Kerr Khan Kim King Kirby Kirk Klein Kline Knapp Knight Knox Koch Kramer Krueger Lam Lamb
Lambert Landry Lane Lang Lara Larsen Larson Lawrence Lawson Le Leach Leal Leblanc Lee Leon
Leonard Lester Levy Lewis Li Lim Lin Lindsey Little Liu Livingston Lloyd Logan Long Lopez
Love Lowe Lowery Lozano Lu Lucas Lucero Lugo Luna Lynch Lynn Lyons Macdonald Macias Mack
Madden Maddox Magana Mahoney Maldonado Malone Mann Manning Marin Marks Marquez Marsh
Marshall Martin Martinez Mason Massey Mata Mathews Mathis Matthews Maxwell May Mayer Maynard
Mayo Mays Mcbride Mccall Mccann Mccarthy Mccarty Mcclain Mcclure Mcconnell Mccormick Mccoy
Mccullough Mcdaniel Mcdonald Mcdowell Mcfarland Mcgee Mcguire Mcintosh Mcintyre Mckay Mckee
Mckenzie Mckinney Mclaughlin Mclean Mcmahon Mcmillan Mcpherson Meadows Medina Medrano Mejia
Melendez Melton Mendez Mendoza Mercado Merritt Meyer Meyers Meza Michael Middleton Miles
Miller Mills Miranda Mitchell Molina Monroe Montes Montgomery Montoya Moody Moon Moore Mora
Morales Moran Moreno Morgan Morris Morrison Morrow Morse Morton Moses Mosley Moss Moyer
Mueller Mullen Mullins Munoz Murillo Murphy Murray Myers Nash Nava Navarro Neal Nelson
Newman Newton Nguyen Nichols Nicholson Nielsen Nixon Noble Nolan Norman Norris Norton Novak
Nunez Obrien Ochoa Oconnell Oconnor Odom Odonnell Oliver Olsen Olson Oneal Oneill Orozco Orr
Ortega Ortiz Osborne Owen Owens Pace Pacheco Padilla Page Palacios Palmer Park Parker Parks
Parra Parrish Parsons Patel Patrick Patterson Patton Paul Payne Pearson Peck Pena Pennington
Peralta Perez Perkins Perry Person Peters Petersen Peterson Pham Phan Phelps Phillips Pierce
Pineda Pittman Pitts Pollard Ponce Poole Pope Porter Portillo Potter Potts Powell Powers
Pratt Preston Price Prince Proctor Pruitt Pugh Quinn Quintana Quintero Ramirez Ramos Ramsey
Randall Randolph Rangel Rasmussen Ray Raymond Reed Reese Reeves Reid Reilly Reyes Reyna
Reynolds Rhodes Rice Rich Richard Richards Richardson Richmond Riley Rios Rivas Rivera
Rivers Roach Robbins Roberson Roberts Robertson Robinson Robles Rocha Rodgers Rodriguez
Rogers Rojas Rollins Roman Romero Rosales Rosario Rosas Rose Ross Roth Rowe Rowland Roy
Rubio Ruiz Rush Russell Russo Ryan Salas Salazar Salgado Salinas Sampson Sanchez Sanders
Sandoval Sanford Santana Santiago Santos Saunders Savage Sawyer Schaefer Schmidt Schmitt
Schneider Schroeder Schultz Schwartz Scott Sellers Serrano Sexton Shaffer Shah Shannon Sharp
Shaw Shelton Shepard Shepherd Sheppard Sherman Shields Short Sierra Silva Simmons Simon
Simpson Sims Singh Singleton Skinner Sloan Small Smith Snow Snyder Solis Solomon Sosa Soto
Sparks Spears Spence Spencer Stafford Stanley Stanton Stark Steele Stein Stephens Stephenson
Stevens Stevenson Stewart Stokes Stone Stout Strickland Strong Stuart Suarez Sullivan
Summers Sutton Swanson Sweeney Tang Tanner Tapia Tate Taylor Terrell Terry Thomas Thompson
Thornton Todd Torres Townsend Tran Travis Trejo Trevino Trujillo Truong Tucker Turner Tyler
Underwood Valdez Valencia Valentine Valenzuela Vance Vang Vargas Vasquez Vaughan Vaughn
Vazquez Vega Velasquez Velazquez Velez Ventura Villa Villalobos Villanueva Villarreal
Villegas Vincent Vo Vu Wade Wagner Walker Wall Wallace Waller Walls Walsh Walter Walters
Walton Wang Ward Ware Warner Warren Washington Waters Watkins Watson Watts Weaver Webb Weber
Webster Weeks Weiss Welch Wells West Wheeler Whitaker White Whitehead Whitney Wiggins Wilcox
Wiley Wilkerson Wilkins Wilkinson Williams Williamson Willis Wilson Winters Wise Wolf Wolfe
Wong Wood Woodard Woods Woodward Wright Wu Wyatt Xiong Yang Yates Yoder York Young Yu Zamora
Zavala Zhang Zimmerman Zuniga
"""
)
"""998 surnames, capitalized (`Mcdonald`, `Obrien`: letters only)."""

STREETS = _split(
    """
Academy Acorn Adams Alder Amber Apple Aspen Bay Beacon Bear Beech Birch Bluebird Bramble
Bridge Broad Brookside Cambridge Canyon Cardinal Cedar Center Cherry Chester Chestnut Church
Cliff Clinton Clover College Copper Coral Court Creek Crescent Crest Crystal Cypress Dale
Deer Dogwood Dover Eagle Elk Elm Evergreen Fairview Falcon Fern Forest Fox Franklin Front
Garden Glenwood Golden Granite Grant Green Greene Grove Hamilton Hampton Hancock Harbor
Harrison Hawk Hawthorne Heather Heron Hickory Highland Hill Hillside Holly Iron Ivy Jackson
Jefferson Juniper Kingston Knox Lake Lakeview Laurel Lee Liberty Lincoln Linden Logan
Madison Magnolia Main Maple Marble Market Marshall Meadow Meadowlark Mill Monroe Morgan Moss
Mulberry North Oak Olive Orchard Oxford Palm Park Peach Pearl Pecan Pierce Pine Pleasant
Polk Poplar Primrose Prospect Putnam Quail Railroad Redwood Ridge River Riverside Robin
Rosewood Sage Salem School Sequoia Sherman Shore Silver South Sparrow Spring Spruce Stone
Summit Sunset Sycamore Taylor Thistle Tyler Union Valley Vernon Walnut Warren Washington
Water Wayne Willow Wilson Windsor Woodland
"""
)
"""160 street names."""

STREET_SUFFIXES = _split(
    """
Avenue Boulevard Circle Court Crossing Drive Lane Loop Parkway Path Pike Place Road Row Run
Square Street Terrace Trail Way
"""
)
"""20 street suffixes, spelled out."""

_CITY_WORDS = _split(
    """
Arlington Ashford Ashland Auburn Bayview Bedford Belmont Berkeley Beverly Bridgeport
Brighton Bristol Brookfield Brookhaven Burlington Cambridge Camden Canton Carlisle
Cedar_Falls Centerville Charlotte Chester Chesterfield Clayton Clearwater Cleveland Clifton
Clinton Colton Columbia Concord Cortland Crestwood Danville Dayton Deerfield Dover Eastport
Edgewood Elmwood Englewood Evanston Fairfield Fairhaven Fairview Farmington Florence
Franklin Georgetown Glendale Glenwood Greenfield Greenville Greenwood Hamilton Hampton
Hanover Harrison Hartford Highland Hillsboro Holland Homestead Hudson Independence Jackson
Jamestown Kenwood Kingston Lakeside Lakewood Lancaster Laurel Lawrence Lebanon Lexington
Lincoln Linden Livingston Lynwood Madison Manchester Maplewood Marietta Marion Medford
Middleton Milford Millbrook Milton Monroe Montrose Morgantown Mount_Vernon Newport Newton
Northfield Norwood Oak_Grove Oakdale Oakland Oakwood Orange Oxford Palmyra Parkville
Pinehurst Pleasant_Hill Plymouth Portland Preston Princeton Quincy Richmond Ridgewood
Riverdale Riverside Riverton Rochester Rockford Rosedale Salem Sheffield Shelby Somerset
Southport Springfield Stanton Sterling Stonebridge Stratford Summit Sunnyvale Taylorsville
Trenton Troy Union Vernon Walton Warren Watertown Waverly Wayne Westbrook Westfield Weston
Wheaton Whitehall Williamsburg Wilson Winchester Windsor Woodbury Woodland Woodstock
Yorktown
"""
)
"""Town names, a space spelled `_`."""

CITIES: tuple[str, ...] = tuple(c.replace("_", " ") for c in _CITY_WORDS)
"""157 town names."""

STATES = _split(
    """
AK AL AR AZ CA CO CT DE FL GA HI IA ID IL IN KS KY LA MA MD ME MI MN MO MS MT NC ND NE NH NJ
NM NV NY OH OK OR PA RI SC SD TN TX UT VA VT WA WI WV WY
"""
)
"""The 50 states' postal codes."""

WORDS = _split(
    """
able account across act action add address after again age agree air all almost along also
always among amount animal answer any apple area arm around art ask away baby back bag ball
bank base basket bed before begin behind bell best better between bird bit black blue board
boat body bone book both bottle box boy branch bread break bridge bright bring brother brown
build burn business busy butter button cake call camp card care carry case cat cause center
chain chair chance change cheap check cheese child choice circle city class clean clear
clock close cloth cloud coat cold color come common company cook copy corner cost cotton
country course cover cow cup current cut dark day deal dear decide deep degree desk detail
develop dinner direct dog door double draw dream dress drink drive drop dry during each
early earth east easy edge egg end enough enter even evening event every example eye face
fact fair fall family far farm fast father feather feel field figure fill final find fine
finger fire first fish floor flower fly follow food foot force forest form forward free
fresh friend front fruit full game garden gate general gentle gift girl give glass glove
goat gold good grain grass great green ground group grow guide hair half hall hand happy
harbor hat head hear heart heat help high hill history hold hole home hope horse hour house
idea inch island join journey judge jump keep key kind king kitchen knee knife know lake
lamp land large last late laugh lead leaf learn leather left letter level library light line
lion list little long look low machine make man map market match meal measure meet memory
middle milk mind minute model moment money month moon morning mother mountain mouth move
music name nation near neck need nest new news night noise north note number ocean offer
office oil old open orange order other oven page paint paper parent park part party pass
path pencil people picture piece place plain plane plant plate play pocket point popular
post potato power present price print public pull purple question quick quiet rain reach
read ready reason record red rest rich ring river road rock roof room root rope round rule
run safe sail salt sand school science sea season seat second seed sense serve shape share
sharp sheep shelf ship shirt shoe short side sign silver simple sing sister size sky sleep
slow small smile snow soft soil song sort sound soup south space speak special spoon spring
square stage star start station step stick stone store story street strong sugar summer sun
supply table tail talk tall taste teacher team test thing thought thread ticket time tired
today tomorrow tool top town trade train travel tree true turn uncle under unit useful
valley value village visit voice wait walk wall warm wash watch water wave way weather week
weight west wheel white whole wide wind window winter wire wish woman wood word work world
year yellow young
"""
)
"""503 common English words, lower case (the `text` kind)."""
